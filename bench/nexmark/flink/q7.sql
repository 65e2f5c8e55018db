SELECT B.auction, B.price, B.bidder, B.`dateTime`
FROM bid B
JOIN (
  SELECT MAX(price) AS maxprice, window_end
  FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(ts), INTERVAL '10' SECOND))
  GROUP BY window_start, window_end
) B1
ON B.price = B1.maxprice
WHERE B.ts >= B1.window_end - INTERVAL '10' SECOND AND B.ts < B1.window_end
