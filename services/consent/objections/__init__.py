"""Objections to sharing, and recorded refusals to consent."""
