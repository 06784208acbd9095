"""The job API: FastAPI over ``service.jobs``, served by uvicorn (``wordfreq api``,
``wordfreq up``) or, on AWS, by Lambda behind API Gateway."""
