"""A Nexmark query of tidewater-bench's `nexmark` workload, in Flink SQL on PyFlink.

Declares the three streams over the JSON-lines folders under --input (`person/`, `auction/`,
`bid/`) with the `filesystem` connector, each with its event time `ts` =
`TO_TIMESTAMP_LTZ(`dateTime`, 3)` and a watermark at least --delay-s seconds behind (whole
hours), and runs the query of --query-file (one SELECT) into a blackhole sink (timed) and into
a sink of --columns for the digest: CSV, or for a query whose result changes rows its
changelog as Debezium JSON (--digest-format). The filesystem source reads a folder's files in
no fixed order, so the Rust side sets the delay beyond the data's span: no event is dropped as
late, and the windows close at the final watermark. Measurements and report: see
`flinkjob.py`.
"""

from flinkjob import arguments, run, start

SCHEMAS = {
    "person": "id BIGINT, name STRING, emailAddress STRING, creditCard STRING, city STRING, "
    "state STRING, `dateTime` BIGINT, extra STRING",
    "auction": "id BIGINT, itemName STRING, description STRING, initialBid BIGINT, "
    "reserve BIGINT, `dateTime` BIGINT, expires BIGINT, seller BIGINT, category BIGINT, "
    "extra STRING",
    "bid": "auction BIGINT, bidder BIGINT, price BIGINT, channel STRING, url STRING, "
    "`dateTime` BIGINT, extra STRING",
}


def main():
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--query-file", required=True, help="the query, one SELECT")
    parser.add_argument("--columns", required=True, help="the result's columns, as SQL DDL")
    parser.add_argument("--delay-s", type=int, default=1, help="the watermarks' delay")
    parser.add_argument("--digest-format", choices=["csv", "debezium-json"], default="csv",
                        help="the digest sink's format: debezium-json for a query whose "
                             "result changes rows (its changelog)")
    args = parser.parse_args()
    with open(args.query_file) as f:
        query = f.read().strip().rstrip(";")
    t_env, startup_s = start(args)
    # INTERVAL 'n' SECOND takes at most two digits: the delay in whole hours, rounded up.
    hours = max(1, -(-args.delay_s // 3600))
    sources = [
        f"CREATE TABLE {kind} ({schema}, ts AS TO_TIMESTAMP_LTZ(`dateTime`, 3), "
        f"WATERMARK FOR ts AS ts - INTERVAL '{hours}' HOUR) WITH ("
        f"'connector' = 'filesystem', 'path' = '{args.input}/{kind}', 'format' = 'json')"
        for kind, schema in SCHEMAS.items()
    ]
    run(t_env, args, startup_s, sources, args.columns, query, digest_format=args.digest_format)


if __name__ == "__main__":
    main()
