"""Inbound email: turn a reply to an agenda email into agenda topics."""

from addon.inbound.autoreply import classify_message
from addon.inbound.body import extract_text
from addon.inbound.models import ParsedReply, Rejection, TopicCandidate
from addon.inbound.parse import normalise_address, parse_reply
from addon.inbound.quotes import strip_quoted
from addon.inbound.signatures import strip_signature
from addon.inbound.topics import classify_section, split_topics

__all__ = [
    "ParsedReply",
    "Rejection",
    "TopicCandidate",
    "classify_message",
    "classify_section",
    "extract_text",
    "normalise_address",
    "parse_reply",
    "split_topics",
    "strip_quoted",
    "strip_signature",
]
