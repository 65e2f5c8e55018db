-- Spark's functions over a static table: strings, conditionals, dates, intervals, math.
-- Cy's city is an empty field: NULL, as Spark's CSV reader reads it (nullValue is empty).
CREATE TABLE users (user_id BIGINT, name STRING, city STRING) USING csv OPTIONS (path 'data/users.csv', header 'true');
SELECT user_id,
       lpad(CAST(user_id AS STRING), 3, '0') AS id,
       initcap(reverse(trim(name))) AS rev,
       concat_ws('/', city, 'x') AS path,
       nvl(nullif(city, ''), '?') AS c,
       date_format(timestamp_seconds(user_id * 86400) + INTERVAL '1' HOUR, 'EEE d MMM HH:mm') AS day,
       pmod(user_id - 3, 2) AS parity,
       if(user_id % 2 = 0, 'even', 'odd') AS kind,
       round(user_id / 3, 2) AS third
FROM users;
