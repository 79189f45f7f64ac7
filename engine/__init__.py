"""tradepit engine: the pure exchange core, the sequenced log and the trio shell that joins them."""
