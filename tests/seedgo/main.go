// Command seedgo is the test oracle for wordfreq's seed mode: it counts stdin exactly as
// the original Go worker did (bufio.ScanWords, strings.ToLower, tokens of at most 4 bytes
// skipped, strings.Trim of `.,"'?!`) and prints the counts as one JSON object. Unlike
// the worker it raises the scanner's token limit, so tokens of any length are counted.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

func main() {
	scanner := bufio.NewScanner(bufio.NewReaderSize(os.Stdin, 1<<16))
	scanner.Buffer(make([]byte, 0, 1<<16), 1<<31-1)
	scanner.Split(bufio.ScanWords)
	counts := map[string]int{}
	for scanner.Scan() {
		word := strings.ToLower(scanner.Text())
		if len(word) <= 4 {
			continue
		}
		counts[strings.Trim(word, ".,\"'?!")]++
	}
	if err := scanner.Err(); err != nil {
		fmt.Fprintln(os.Stderr, "seedgo:", err)
		os.Exit(1)
	}
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(counts); err != nil {
		fmt.Fprintln(os.Stderr, "seedgo:", err)
		os.Exit(1)
	}
	if err := out.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "seedgo:", err)
		os.Exit(1)
	}
}
