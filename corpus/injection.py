"""Instruction-like text in a document: prompt injection aimed at the model that reads retrieved passages.

Pedagogy books are full of imperatives ("Practise slowly", "Never hurry"), so the rules look for what
an attack needs and a book on playing does not: an instruction aimed at an AI/assistant/model/system,
an override of earlier instructions, a chat-role marker, a request for the prompt, a forced reply
("say 'PWNED'"), or a script link. Each rule has a name, which is the reason an admin sees. Measured on
eval/injection_set.jsonl and the 23 corpus books by `python -m eval.injection`."""

from __future__ import annotations

import re
from typing import Final

_F = re.IGNORECASE | re.DOTALL

# An override: ignore/disregard/forget ... earlier instructions (the noun is what a book never pairs with it).
_PRIOR = r"(?:all\s+|any\s+|the\s+|your\s+|my\s+|these\s+|those\s+)*(?:previous|prior|preceding|above|earlier|former|original|initial|old)?"
_RULES_NOUN = r"(?:instructions?|directions?|directives?|guidelines|prompts?|system\s+(?:prompt|message)|persona|programming)"
# "do not forget the rules you learned in § 7" is a book; "forget your previous rules" is not.
_SOFT_NOUN = r"(?:rules|guidance|polic(?:y|ies)|constraints)"

# (name, words one of which the text must contain (lower case), pattern). The words are a cheap gate: a
# substring test is ~100x faster than the patterns, and most chunks contain none of them for most rules.
RULES: Final[tuple[tuple[str, tuple[str, ...], re.Pattern[str]], ...]] = (
    (
        "override of earlier instructions",
        ("ignore", "disregard", "forget", "overr", "bypass", "follow"),
        re.compile(
            rf"\b(?:ignore|disregard|forget|override|overrule|bypass|do\s+not\s+follow|don'?t\s+follow|stop\s+following)\s+"
            rf"(?:about\s+)?(?:{_PRIOR}\s*{_RULES_NOUN}|(?:all\s+|the\s+|your\s+)*(?:previous|prior|preceding|above|earlier|"
            rf"original|initial|your)\s+{_SOFT_NOUN})\b",
            _F,
        ),
    ),
    (
        "override of everything said before",
        ("ignore", "disregard", "forget"),
        re.compile(
            r"\b(?:ignore|disregard|forget)\s+(?:everything|all|anything)\s+(?:you\s+(?:were|have\s+been)\s+told|"
            r"(?:said\s+)?(?:before|above|earlier|previously))",
            _F,
        ),
    ),
    (
        "earlier instructions declared void",
        ("instructions", "rules", "directions"),
        re.compile(
            r"\b(?:previous|preceding|earlier|above|prior)\s+(?:instructions|rules|directions)\s+(?:no\s+longer\s+apply|"
            r"(?:are|were)\s+(?:void|a\s+test|cancelled|invalid))|\binstructions\s+you\s+received\s+earlier\b",
            _F,
        ),
    ),
    (
        "new instructions for the model",
        ("instruction", "task", "role", "directive"),
        re.compile(
            r"\b(?:new|real|updated|actual|hidden)\s+(?:instructions?|task|role|directive)s?\b\s*(?:for\s+(?:the|you)|follow|:|is\b|are\b)",
            _F,
        ),
    ),
    (
        "address to an AI",
        (" ai", "a.i.", "assistant", "chatbot", "chat bot", "the model", "language model", "llm", "gpt"),
        re.compile(
            r"\b(?:note|message|attention|instructions?|hidden\s+message)\s+(?:to|for)\s+(?:the\s+)?"
            r"(?:AI|A\.I\.|assistant|chat\s?bot|model|language\s+model|LLM|GPT)\b|"
            r"\b(?:attention|dear|hey)\s*,?\s+(?:AI|assistant|chat\s?bot|LLM|GPT)\b|"
            r"\bif\s+you\s+are\s+an?\s+(?:AI|language\s+model|LLM|assistant|chat\s?bot)\b|"
            r"\bas\s+an\s+AI\s*,\s*you\b",
            _F,
        ),
    ),
    (
        "the model told what to do",
        ("the assistant", "the chat", "the ai", "the model", "the llm"),
        re.compile(
            r"\bthe\s+(?:assistant|chat\s?bot|AI|model|LLM)\s+(?:must|should|will|shall|has\s+to|is\s+to)\s+(?:now\s+)?"
            r"(?:say|reveal|reply|respond|answer|output|print|write|tell|ignore|stop)\b",
            _F,
        ),
    ),
    (
        "role change",
        (
            "you are now",
            "from now on",
            "your role",
            "your persona",
            "your personality",
            "pretend",
            "stop being",
            " mode",
            "anything now",
        ),
        re.compile(
            r"\byou\s+are\s+now\s+(?:an?\s+|the\s+|in\s+)?(?!\d)\w+|\bfrom\s+now\s+on,?\s+you\s+(?:will|are|must|shall)\b|"
            r"\b(?:change|switch)\s+your\s+(?:role|persona|personality)\b|\bpretend\s+(?:that\s+)?you\s+are\s+(?:the\s+)?"
            r"(?:admin|administrator|developer|system|root|an?\s+AI)\b|\bstop\s+being\s+(?:a|an|the)\s+\w+(?:\s+\w+)?\s*\.\s*you\s+are\b|"
            r"\b(?:developer|DAN|jailbreak|god)\s+mode\b|\bDo\s+Anything\s+Now\b",
            _F,
        ),
    ),
    (
        "request for the prompt",
        ("prompt", "instructions", "configuration", "context"),
        re.compile(
            r"\b(?:reveal|print|show|output|repeat|display|leak|translate)\s+(?:me\s+)?(?:your|the)\s+(?:\w+\s+)?"
            r"(?:system\s+(?:prompt|message)|prompt|instructions|initial\s+instructions|configuration|context\s+window)\b|"
            r"\bsystem\s+prompt\b|\bcontents?\s+of\s+your\s+context\b",
            _F,
        ),
    ),
    # Case matters here: the forced reply is a shouted word ('PWNED'), not any quotation.
    (
        "forced reply",
        ("say", "reply", "respond", "answer", "write", "output", "print", "repeat"),
        re.compile(
            r"\b(?:say|reply|respond|answer|write|output|print)\s+(?:only\s+)?(?:with\s+)?(?:the\s+word\s+)?"
            r"[\"'“‘«]\s*[A-Z][A-Z !]{3,}\s*[\"'”’»]|"
            r"\b(?:respond|reply|answer)\s+(?:only\s+)?with\s+(?:the\s+word\s+)?[A-Z]{4,}\b|"
            r"(?i:\b(?:output|print|write)\s+the\s+following\s+(?:text\s+)?(?:exactly|verbatim))|"
            r"(?i:\brepeat\s+after\s+me\b)",
            re.DOTALL,
        ),
    ),
    (
        "answer steered away from the sources",
        ("sources", "passages", "citations"),
        re.compile(
            r"\b(?:instead\s+of|rather\s+than|without\s+citing|do\s+not\s+cite)\s+(?:the|your|any)\s+(?:sources|passages|citations)\b",
            _F,
        ),
    ),
    (
        "chat-role marker",
        ("<", "[inst", "[/inst", "#", "system", "assistant", "user"),
        re.compile(
            r"<\|?\s*(?:im_start|im_end|system|endoftext|eot_id|start_header_id)\s*\|?>|\[/?INST\]|<</?SYS>>|"
            r"</?\s*(?:system|source|assistant|user)\s*>|^\s*#{1,6}\s*(?:system|assistant|instruction)s?\b|"
            r"(?:^|\n)\s*(?:system|assistant|user)\s*:\s+\S",
            re.IGNORECASE | re.MULTILINE,
        ),
    ),
    (
        "script or data link",
        ("script", "data"),
        re.compile(r"\b(?:javascript|vbscript|data)\s*:\s*[\w/(]", re.IGNORECASE),
    ),
    ("exfiltration link", ("![",), re.compile(r"!\[[^\]]*\]\(\s*https?://[^)\s]*\?[^)\s]*=", re.IGNORECASE)),
    (
        "override in another language",
        ("ignor",),
        re.compile(
            r"\bignor(?:ez|iere|a|e)\s+(?:les|alle|todas|le|die)\s+(?:\w+\s+)?(?:instructions|anweisungen|instrucciones|istruzioni)\b",
            _F,
        ),
    ),
)


def injection_reasons(text: str) -> list[str]:
    """The names of the rules ``text`` matches (empty: nothing instruction-like aimed at a model)."""
    lower = text.lower()
    return [name for name, words, pattern in RULES if any(w in lower for w in words) and pattern.search(text)]


def injection_flag(text: str) -> str | None:
    """The reasons joined into one short string, or None for a clean text (what a chunk records)."""
    reasons = injection_reasons(text)
    return "; ".join(reasons) if reasons else None
