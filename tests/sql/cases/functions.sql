-- Scalar functions over a static table (read once, then the query ends).
-- Cy's city is an empty field: NULL, as Spark's CSV reader reads it (nullValue is empty).
CREATE TABLE users (user_id BIGINT, name STRING, city STRING) USING csv OPTIONS (path 'data/users.csv', header 'true');
SELECT user_id,
       upper(trim(name)) AS up,
       length(name) AS len,
       concat(trim(name), '@', city) AS tag,
       substring(trim(name), 1, 2) AS short,
       city LIKE 'O%' AS o_city,
       round(user_id * 1.25, 1) AS r,
       abs(user_id - 3) AS a
FROM users;
