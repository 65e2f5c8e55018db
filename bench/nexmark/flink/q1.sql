-- 0.908 is DECIMAL(3, 3) in Flink, as in Spark SQL: the product is an exact DECIMAL(22, 3).
SELECT auction, bidder, 0.908 * price AS price, `dateTime`, extra FROM bid
