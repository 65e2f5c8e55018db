-- BINARY: CAST(s AS BINARY) encodes UTF-8, CAST(b AS STRING) decodes it, and the console shows
-- bytes as Spark's show() does: upper-case hex, space-separated, in brackets.
CREATE TABLE users (user_id BIGINT, name STRING, city STRING) USING csv OPTIONS (path 'data/users.csv', header 'true');
SELECT user_id,
       CAST(trim(name) AS BINARY) AS b,
       CAST(CAST(trim(name) AS BINARY) AS STRING) AS back
FROM users;
