"""Drafting with an LLM: the chat client, the prompts, the LGPD and prompt-injection guard, and the drafting task."""
