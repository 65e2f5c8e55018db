-- expect-error: INVALID_FUNCTION_CALL 3:8
CREATE STREAM lines USING text OPTIONS (path 'data/words');
SELECT reverse_words(value) FROM lines;
