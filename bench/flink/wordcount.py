"""The word count of tidewater-bench's `wordcount` workload, in Flink SQL on PyFlink.

Reads the text files of --input (one line a record, through the `filesystem` connector as
tab-separated CSV without quoting: the lines hold no tab), splits the lines into words with
`CROSS JOIN UNNEST(SPLIT(line, ' '))` and counts per word, in streaming mode. The timed job
writes into a `blackhole` sink; the digest job writes the same query's changelog as Debezium
JSON, from which the Rust side takes the final count of every word. Measurements and report:
see `flinkjob.py`.
"""

from flinkjob import arguments, csv_source, run, start


def main():
    args = arguments(__doc__.splitlines()[0]).parse_args()
    t_env, startup_s = start(args)
    run(
        t_env,
        args,
        startup_s,
        [csv_source("lines", "line STRING", args.input)],
        "word STRING, cnt BIGINT",
        "SELECT word, COUNT(*) AS cnt FROM lines CROSS JOIN UNNEST(SPLIT(line, ' ')) AS T(word) "
        "GROUP BY word",
        digest_format="debezium-json",
    )


if __name__ == "__main__":
    main()
