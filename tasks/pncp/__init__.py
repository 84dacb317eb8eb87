"""PNCP collection: the HTTP client, record parsing and validation, the market tables' writes, the embedded sample,
legacy Comprasnet HTML, and the collection's tasks."""
