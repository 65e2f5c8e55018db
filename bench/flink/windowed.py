"""Windowed counts under a watermark, for tidewater-bench's `windowed` workload, on PyFlink.

Reads --input (`key<TAB>ts_ms` lines) as a `filesystem` table with the event time
`TO_TIMESTAMP_LTZ(ts_ms, 3)` and a 5-second watermark, and counts per key and 10-second
tumbling window with the TUMBLE table-valued function, in streaming mode. The Rust side gives it
one file: the filesystem source reads the files of a directory in no fixed order, and its
watermark would then jump ahead and drop events as late. The window's start comes out in ms as
`MIN(ts_ms)` rounded down to the window, so no time-zone conversion is involved. The bounded
source ends with a final watermark, so Flink closes every window, including those the other
engines leave open at the end; the Rust side compares the windows both close. Measurements and
report: see `flinkjob.py`.
"""

from flinkjob import arguments, csv_source, run, start

WINDOW_MS = 10_000


def main():
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--delay-ms", type=int, default=5000, help="the watermark's delay")
    args = parser.parse_args()
    t_env, startup_s = start(args)
    extra = (
        ", ts AS TO_TIMESTAMP_LTZ(ts_ms, 3)"
        f", WATERMARK FOR ts AS ts - INTERVAL '{args.delay_ms / 1000:g}' SECOND"
    )
    run(
        t_env,
        args,
        startup_s,
        [csv_source("events", "key STRING, ts_ms BIGINT", args.input, extra)],
        "key STRING, start_ms BIGINT, cnt BIGINT",
        f"SELECT key, MIN(ts_ms) - MOD(MIN(ts_ms), {WINDOW_MS}) AS start_ms, COUNT(*) AS cnt "
        f"FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '{WINDOW_MS // 1000}' SECOND)) "
        "GROUP BY key, window_start, window_end",
    )


if __name__ == "__main__":
    main()
