"""Evaluation: metrics, question-file and BEIR runs, report tables."""
