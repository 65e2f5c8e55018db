-- expect-error: TABLE_OR_VIEW_NOT_FOUND 3:19
CREATE STREAM lines USING text OPTIONS (path 'data/words');
SELECT value FROM line;
