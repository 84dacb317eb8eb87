"""Rendering documents: the section-text markup, the printed document's model, DOCX and PDF, and the render task."""
