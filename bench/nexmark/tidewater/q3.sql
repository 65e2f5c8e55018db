-- q3, local item suggestion: the sellers in Oregon, Idaho or California of auctions in
-- category 10 (a join of two streams, both kept).
SELECT P.name, P.city, P.state, A.id
FROM auction A JOIN person P ON A.seller = P.id
WHERE A.category = 10 AND (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA')
