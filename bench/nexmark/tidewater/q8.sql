-- q8, new users: the people who created an auction in the 10-second window in which they
-- registered. Spark's form: a join of the two streams on the seller and the window, then one
-- row per person and window.
SELECT P.id, P.name, unix_millis(window.start) AS starttime
FROM person P JOIN auction A
  ON P.id = A.seller AND window(P.ts, '10 seconds') = window(A.ts, '10 seconds')
GROUP BY window(P.ts, '10 seconds'), P.id, P.name
