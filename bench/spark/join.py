"""The stream-static join and aggregation of tidewater-bench's `join` workload, on Spark.

Reads the CSV files of --input (`user_id,amount`, no header; one file per epoch, one
micro-batch per file), joins them with the static users table --users (`user_id,country`,
with a header) USING (user_id), counts and sums the amounts per country in update mode, and
writes each batch's changed rows, sorted by country, to --output/batch-NNNNNN.json as a JSON
list of [country, count, sum]. The measurements and the report are those of `wordcount.py`,
whose helpers this script uses (both are written to the same directory).
"""

from wordcount import arguments, run_query, start_session


def main():
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--users", required=True, help="the users table, a CSV file")
    args = parser.parse_args()
    spark, startup_s = start_session(args, "tidewater-bench join")
    from pyspark.sql.functions import count, sum as sum_

    transactions = (
        spark.readStream.schema("user_id BIGINT, amount BIGINT")
        .option("maxFilesPerTrigger", 1)
        .csv(args.input)
    )
    users = spark.read.schema("user_id BIGINT, country STRING").option("header", True).csv(args.users)
    totals = (
        transactions.join(users, "user_id")
        .groupBy("country")
        .agg(count("*").alias("count"), sum_("amount").alias("sum"))
    )
    run_query(spark, args, totals, startup_s)


if __name__ == "__main__":
    main()
