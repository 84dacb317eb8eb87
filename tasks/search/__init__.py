"""Search helpers any index can use: the optional semantic ranking (embeddings.py)."""
