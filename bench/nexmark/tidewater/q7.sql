-- q7, highest bid: the bid with the highest price of each 10-second window. max_by keeps one
-- bid a window; Nexmark's form joins the window's maximum back to the bids, which gives the
-- same rows unless two bids tie for the maximum (the digest comparison with Flink checks it).
SELECT max_by(auction, price) AS auction, max(price) AS price,
       max_by(bidder, price) AS bidder, max_by(dateTime, price) AS dateTime
FROM bid
GROUP BY window(ts, '10 seconds')
