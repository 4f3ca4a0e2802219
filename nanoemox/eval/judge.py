"""The ERI judge, as AffectGPT scores EMER (zeroQiaoba/AffectGPT `AffectGPT/evaluation.py`, and the published
Nano-EmoX `eval_ovmerd.py`, with gpt-3.5-turbo-0125 at temperature 0).

Clue overlap: the judge summarises the emotional state described by the reference reasoning and by the predicted
one, and rates their overlap from 1 to 10 (`func_clue_scoring`). Label overlap: the judge first reduces each
reasoning to its most likely emotion words (`get_summarized_emotions`), then rates the overlap of the two
(`func_label_scoring`). Two prompt sets: `published` (the published code's Chinese prompts, its indentation
dropped) and `english` (the same steps in our own words). A reply with no score in 1-10 is reported under
`failed` and left out of that mean (None when no reply has a score). `mean` is the mean of the two, the ERI
figure the paper reports (its Table 6 average).
"""

import re
from collections import Counter
from collections.abc import Sequence

from nanoemox.eval.errors import EvalError
from nanoemox.eval.llm import ChatClient

PROMPT_VERSIONS = {"published": "eval_ovmerd-zh-v1", "english": "nanoemox-en-v1"}  # bump when a prompt changes
REPLY_FORMAT = "Answer in the format 'Score: <number>; Reason: <reason>'."
SCORE_AFTER_KEY = re.compile(r"score\W{0,3}\s*(\d+(?:\.\d+)?)", re.IGNORECASE)
FIRST_NUMBER = re.compile(r"\d+(?:\.\d+)?")  # AffectGPT's fallback reading: the first number in the reply


def clue_prompt(reference: str, predicted: str) -> str:
    """Rate how far the predicted reasoning's emotional description overlaps the reference's."""
    return (
        "Below are a reference description and a predicted description of a person. Score the predicted "
        "description from 1 to 10 in these steps:\n"
        "1. Summarise what the reference description says about the person's emotional state.\n"
        "2. Summarise what the predicted description says about the person's emotional state.\n"
        "3. Rate the overlap between the two: the larger the overlap, the higher the score.\n"
        f"{REPLY_FORMAT}\n\nReference description: {reference}\n\nPredicted description: {predicted}\n\nOutput:"
    )


def emotions_prompt(reasoning: str) -> str:
    """Reduce a reasoning to the person's most likely emotional state, as emotion words only."""
    return (
        "From the description of a video below, infer the most likely emotional state of the person in it. "
        "Output only emotion words.\n"
        "Description: He looks cheerful, but in fact he is very nervous.\nOutput: nervous\n"
        f"Description: {reasoning}\nOutput:"
    )


def label_prompt(reference_emotions: str, predicted_emotions: str) -> str:
    """Rate how far the predicted emotions overlap the reference emotions."""
    return (
        "Below are a person's reference emotions and predicted emotions. Rate the overlap between the predicted "
        "and the reference emotions from 1 to 10: the larger the overlap, the higher the score.\n"
        f"{REPLY_FORMAT}\n\nReference emotions: {reference_emotions}\n\nPredicted emotions: {predicted_emotions}"
        "\n\nOutput:"
    )


def clue_prompt_published(reference: str, predicted: str) -> str:
    """`func_clue_scoring` of the published evaluation."""
    return (
        "下面给出人物的《真实描述》以及《预测描述》。请按照以下步骤计算《预测描述》的得分，得分范围为1-10。"
        "最终仅输出预测分数的数值大小，并给出原因。\n"
        "1.请总结《真实描述》中有关人物的情感状态描述\n"
        "2.请总结《预测描述》中有关人物的情感状态描述\n"
        "3.计算《预测描述》与《真实描述》之间的重叠度，重叠度越高，返回的分数越高。\n"
        "4.输出格式为: '预测分数'：预测分数；'原因'：原因、\n"
        f"输入：\n《真实描述》：{reference}\n《预测描述》：{predicted}\n输出：\n"
    )


def emotions_prompt_published(reasoning: str) -> str:
    """`get_summarized_emotions` of the published evaluation."""
    return (
        "请根据以下视频描述，推测视频中人物最有可能的情感状态，仅输出情感词：\n"
        "视频描述：他虽然看起来很高兴，但是实际上很焦虑\n输出结果：焦虑\n"
        f"视频描述：{reasoning}\n输出结果：\n"
    )


def label_prompt_published(reference_emotions: str, predicted_emotions: str) -> str:
    """`func_label_scoring` of the published evaluation."""
    return (
        "下面给出人物的《真实情感》以及《预测情感》。请计算《预测情感》与《真实情感》之间的重叠度，重叠度越高，"
        "返回的分数越高。得分范围为1-10。最终仅输出预测分数的数值大小，并给出原因。\n"
        "输出格式为: '预测分数'：预测分数；'原因'：原因\n"
        f"输入：\n《真实情感》：{reference_emotions}\n《预测情感》：{predicted_emotions}\n输出：\n"
    )


PROMPTS = {  # prompt set -> (clue, emotion summary, label overlap)
    "published": (clue_prompt_published, emotions_prompt_published, label_prompt_published),
    "english": (clue_prompt, emotions_prompt, label_prompt),
}


def parse_score(reply: str) -> float | None:
    """The 1-10 score of a judge reply ('Score: 7; Reason: ...', or else its first number), None if there is none."""
    match = SCORE_AFTER_KEY.search(reply) or FIRST_NUMBER.search(reply)
    if match is None:
        return None
    score = float(match.group(match.lastindex or 0))
    return score if 1 <= score <= 10 else None


def judge_eri(client: ChatClient, items: Sequence[tuple[str, str, str]], prompts: str = "published") -> dict:
    """Mean clue and label overlap (1-10) over (id, reference_reason, predicted_reason) items, with per-item scores.

    `prompts` names the prompt set (published | english).
    """
    if prompts not in PROMPTS:
        raise EvalError(f"unknown judge prompt set '{prompts}' (one of {', '.join(PROMPTS)})")
    clue, emotions, label = PROMPTS[prompts]
    ids = [item[0] for item in items]
    if not ids:
        raise EvalError("nothing to judge: no ERI items")
    repeated = sorted(sample for sample, count in Counter(ids).items() if count > 1)
    if repeated:
        raise EvalError(f"ERI item id(s) given more than once: {', '.join(repeated[:5])}")
    # the clue scores and both emotion summaries first, then the label scores that compare the summaries
    n = len(items)
    first = [clue(reference, predicted) for _, reference, predicted in items]
    first += [emotions(reference) for _, reference, _ in items] + [emotions(predicted) for _, _, predicted in items]
    replies = client.ask_all(first)
    label_replies = client.ask_all([label(a, b) for a, b in zip(replies[n : 2 * n], replies[2 * n :], strict=True)])
    per_item, failed = [], []
    for sample, clue_reply, label_reply in zip(ids, replies[:n], label_replies, strict=True):
        scores = {"clue_overlap": parse_score(clue_reply), "label_overlap": parse_score(label_reply)}
        for metric, reply in (("clue_overlap", clue_reply), ("label_overlap", label_reply)):
            if scores[metric] is None:
                failed.append({"id": sample, "metric": metric, "reply": reply})
        per_item.append({"id": sample, **scores})
    result: dict = {"n": len(items)}
    for metric in ("clue_overlap", "label_overlap"):
        valid = [item[metric] for item in per_item if item[metric] is not None]
        result[metric] = sum(valid) / len(valid) if valid else None
        result[f"n_{metric}"] = len(valid)
    pair = (result["clue_overlap"], result["label_overlap"])
    result["mean"] = None if None in pair else sum(pair) / 2
    return {**result, "failed": failed, "items": per_item}


def judge_protocol(judge: ChatClient, prompts: str) -> dict:
    """How ERI scores were judged (judge settings, prompt set and version), recorded beside them."""
    version = PROMPT_VERSIONS[prompts]
    described = f"judge {judge.model}, temperature {judge.temperature}, prompts {version}"
    settings = judge.settings() | {"prompts": prompts, "prompt_version": version}
    return {"protocol": f"AffectGPT EMER: {described}", "judge": settings}
