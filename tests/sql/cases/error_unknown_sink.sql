-- expect-error: TABLE_OR_VIEW_NOT_FOUND 3:13
CREATE STREAM lines USING text OPTIONS (path 'data/words');
INSERT INTO nowhere SELECT value FROM lines;
