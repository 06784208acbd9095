"""The services over the ports: the worker, its process pool, and the client."""
