"""The stream-static join and aggregation of tidewater-bench's `join` workload, in Flink SQL.

Reads the transactions from the files of --input (`user_id<TAB>amount`, one file per epoch)
and the users table from --users (`user_id<TAB>country`, no header: Flink's csv format has no
header option), joins them on user_id and counts and sums the amounts per country, in
streaming mode. The users file is a bounded stream, so this is Flink's regular join, which
keeps both sides in state: the form a Flink SQL user writes for a static CSV table. The digest
job writes the changelog as Debezium JSON, from which the Rust side takes the final row of
each country. Measurements and report: see `flinkjob.py`.
"""

from flinkjob import arguments, csv_source, run, start


def main():
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--users", required=True, help="the users table, a tab-separated file")
    args = parser.parse_args()
    t_env, startup_s = start(args)
    run(
        t_env,
        args,
        startup_s,
        [
            csv_source("transactions", "user_id BIGINT, amount BIGINT", args.input),
            csv_source("users", "user_id BIGINT, country STRING", args.users),
        ],
        "country STRING, cnt BIGINT, total BIGINT",
        "SELECT u.country, COUNT(*) AS cnt, SUM(t.amount) AS total "
        "FROM transactions AS t JOIN users AS u ON t.user_id = u.user_id GROUP BY u.country",
        digest_format="debezium-json",
    )


if __name__ == "__main__":
    main()
