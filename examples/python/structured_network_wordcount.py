# Spark's Structured Streaming word count, as the Structured Streaming Programming Guide writes
# it in Python, run by Tidewater: only the imports differ from the PySpark program.
#
#   nc -lk 9999                                          # a line server, in another terminal
#   python examples/python/structured_network_wordcount.py
#
# Install the package first: pip install ./python (see README, "From PySpark").
from tidewater.sql import SparkSession
from tidewater.sql.functions import explode
from tidewater.sql.functions import split

spark = SparkSession \
    .builder \
    .appName("StructuredNetworkWordCount") \
    .getOrCreate()

# Create DataFrame representing the stream of input lines from connection to localhost:9999
lines = spark \
    .readStream \
    .format("socket") \
    .option("host", "localhost") \
    .option("port", 9999) \
    .load()

# Split the lines into words
words = lines.select(
   explode(
       split(lines.value, " ")
   ).alias("word")
)

# Generate running word count
wordCounts = words.groupBy("word").count()

 # Start running the query that prints the running counts to the console
query = wordCounts \
    .writeStream \
    .outputMode("complete") \
    .format("console") \
    .start()

query.awaitTermination()
