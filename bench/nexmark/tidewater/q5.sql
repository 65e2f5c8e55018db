-- q5, hot items: the auctions with the most bids in each 10-second window sliding by 2
-- seconds (every auction that ties). Two windowed counts of the same bids: one joined to the
-- greatest count of its window, which the other gives. The join reads aggregations, whose rows
-- change as bids come: it runs in complete mode. The window's start is kept, so that each
-- row says which window it is of.
SELECT AuctionBids.auction, AuctionBids.num, AuctionBids.starttime
FROM (
    SELECT auction, count(*) AS num, window.start AS starttime, window.end AS endtime
    FROM bid
    GROUP BY auction, window(ts, '10 seconds', '2 seconds')
) AuctionBids
JOIN (
    SELECT max(CountBids.num) AS maxn, CountBids.starttime, CountBids.endtime
    FROM (
        SELECT count(*) AS num, window.start AS starttime, window.end AS endtime
        FROM bid
        GROUP BY auction, window(ts, '10 seconds', '2 seconds')
    ) CountBids
    GROUP BY CountBids.starttime, CountBids.endtime
) MaxBids
ON AuctionBids.starttime = MaxBids.starttime AND AuctionBids.endtime = MaxBids.endtime
   AND AuctionBids.num >= MaxBids.maxn
