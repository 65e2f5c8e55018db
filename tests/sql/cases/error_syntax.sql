-- expect-error: PARSE_SYNTAX_ERROR 3:1
CREATE STREAM lines USING text OPTIONS (path 'data/words');
SELEC value FROM lines;
