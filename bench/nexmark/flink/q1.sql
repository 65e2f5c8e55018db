-- 0.908 is DECIMAL in Flink: a DOUBLE, as the other engines compute it.
SELECT auction, bidder, CAST(0.908 AS DOUBLE) * price AS price, `dateTime`, extra FROM bid
