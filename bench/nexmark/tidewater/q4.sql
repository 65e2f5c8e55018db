-- q4, average closing price per category: the highest bid of each auction made while it
-- was open (a join of two streams, both kept), then the average of those per category. The
-- second aggregation reads the first, whose rows change as bids come: it runs in complete mode.
SELECT Q.category, avg(Q.final) AS avg_final
FROM (
    SELECT max(B.price) AS final, A.category
    FROM auction A JOIN bid B ON A.id = B.auction
    WHERE B.dateTime BETWEEN A.dateTime AND A.expires
    GROUP BY A.id, A.category
) Q
GROUP BY Q.category
