// The original Go uploader's output, as an oracle for `wordfreq submit`'s text: its
// printResult (format strings and the five-byte tab rule) and time.Duration.String.
//
//	goprint durations  < one int64 nanosecond count a line  -> one Duration.String() a line
//	goprint results    < a JSON array of result messages     -> each printed, after its length and a newline
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"
)

type Word struct {
	Word  string
	Count int
}

type JobResult struct {
	FileKey       string
	JobID         string
	Words         []Word
	Duration      time.Duration
	Status        string
	StatusMessage string
}

func printResult(w *bufio.Writer, result *JobResult) {
	fmt.Fprintf(w, "Job Results completed in %s for %s\n", result.Duration.String(), result.JobID)
	if result.Status == "failure" {
		fmt.Fprintln(w, "Failed:", result.StatusMessage)
		return
	}
	fmt.Fprintln(w, "Top Words:")
	for _, word := range result.Words {
		format := "- %s\t%d\n"
		if len(word.Word) <= 5 {
			format = "- %s\t\t%d\n"
		}
		fmt.Fprintf(w, format, word.Word, word.Count)
	}
}

func main() {
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	switch os.Args[1] {
	case "durations":
		scanner := bufio.NewScanner(os.Stdin)
		for scanner.Scan() {
			n, err := strconv.ParseInt(scanner.Text(), 10, 64)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
			fmt.Fprintln(out, time.Duration(n).String())
		}
	case "results":
		var results []JobResult
		if err := json.NewDecoder(os.Stdin).Decode(&results); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for i := range results {
			var block bytes.Buffer
			w := bufio.NewWriter(&block)
			printResult(w, &results[i])
			w.Flush()
			fmt.Fprintf(out, "%d\n", block.Len())
			out.Write(block.Bytes())
		}
	}
}
