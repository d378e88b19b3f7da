"""Run each example's common prompt prefix once: its sequences packed into one row as a token tree.

A preference example is several sequences that start alike (DPO / NCA: the prompt before the
chosen and the rejected answer; NCA-P: the system text and the image before two instruction
blocks, each before two answers). The collator names the example of every sequence
(`PREFIX_GROUPS_KEY`); per example, every token that begins the same way in several sequences is
kept once, and the row holds the tree of all branches (longest common prefixes, so answers that
begin alike share their first tokens too). A 4D attention mask lets each token see exactly its
own ancestors, and position ids are each token's own (Qwen's 3-row multimodal RoPE included,
from the model's `compute_3d_position_ids` on the unshared sequences), so every token's hidden
state equals the unshared forward's. Answer log-probabilities are then taken per sequence:

- a pre-hook on the module the trainer calls plans the packing and hands TRL's fused LM head
  pre-shifted labels for the answer positions only (`shift_labels`);
- a pre-hook on the backbone (`model.base_model`) swaps in the packed inputs;
- a hook on the backbone gathers, per sequence, the hidden states that predict its labels;
- a hook on the called module puts the per-token outputs back in TRL's (sequence, length - 1) layout.

Exact to rounding: the same keys, values and positions reach every query, only in another order, so
the losses of docs/specification.md §7 get the same per-sequence answer log-probabilities.
Needs sdpa or eager attention (a tree mask; flash-attn 2 takes none) and positions the model
computes from the unshared input (`compute_3d_position_ids`, Qwen2-VL family);
`share_prompt_prefix=False` runs every sequence whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.hooks import RemovableHandle
from transformers.modeling_outputs import BaseModelOutputWithPooling

PREFIX_GROUPS_KEY = "prefix_groups"
SWITCH = "share_prompt_prefix=False (--share_prompt_prefix false)"
TREE_MASK_ATTENTION = ("sdpa", "eager")
PER_TOKEN_OUTPUTS = ("log_probs", "entropy", "log_sum_sq_probs", "mean_logits", "is_top1", "label_mask")
# Per-token inputs the packed call does not take: positions are given, so the backbone has no other use for them.
UNPACKED_KEYS = ("mm_token_type_ids", "token_type_ids", "pixel_values", "image_grid_thw")


def check_prefix_sharing(model: torch.nn.Module) -> None:
    """ValueError naming the switch when `model` (a transformers VLM) cannot run the shared-prefix forward."""
    name = type(model).__name__
    backbone = getattr(model, "base_model", None)
    if backbone is None or not hasattr(backbone, "compute_3d_position_ids"):
        raise ValueError(
            f"{name}: the shared-prefix forward needs the model's own position ids for every branch "
            f"(`compute_3d_position_ids`, Qwen2-VL family); train it with {SWITCH}"
        )
    attention = model.config._attn_implementation
    if attention not in TREE_MASK_ATTENTION:
        raise ValueError(
            f"{name}: the shared-prefix forward needs a tree attention mask, which {attention} does not take; load the "
            f"model with --attn_implementation sdpa, or train with {SWITCH}"
        )
    layer_types = set(getattr(model.config.get_text_config(), "layer_types", None) or ["full_attention"])
    if layer_types != {"full_attention"}:
        raise ValueError(f"{name}: sliding-window layers ({sorted(layer_types)}) are not supported; use {SWITCH}")


@dataclass
class Tree:
    """Where every token of every sequence sits in the packed rows."""

    row: torch.Tensor
    """(sequences,) packed row of each sequence (its example)."""
    index: torch.Tensor
    """(sequences, length) column of each token in its packed row; -1 on padding."""
    new: torch.Tensor
    """(sequences, length) whether the sequence put the token there (False: shared with an earlier sequence)."""
    width: int
    """Length of the packed rows."""


def build_tree(input_ids: torch.Tensor, lengths: list[int], groups: list[int]) -> Tree:
    """Pack the sequences of each group into one row: each sequence shares its longest common prefix with an
    earlier sequence of its group and appends the rest."""
    n_sequences, length = input_ids.shape
    rows = {group: r for r, group in enumerate(dict.fromkeys(groups))}
    index = torch.full((n_sequences, length), -1, dtype=torch.long)
    new = torch.zeros((n_sequences, length), dtype=torch.bool)
    used = [0] * len(rows)
    placed: dict[int, list[int]] = {}
    for s, (n, group) in enumerate(zip(lengths, groups, strict=True)):
        shared, parent = 0, -1
        for earlier in placed.get(group, []):
            m = min(n, lengths[earlier])
            differs = (input_ids[s, :m] != input_ids[earlier, :m]).nonzero()
            common = int(differs[0]) if len(differs) else m
            if common > shared:
                shared, parent = common, earlier
        r = rows[group]
        if shared:
            index[s, :shared] = index[parent, :shared]
        index[s, shared:n] = torch.arange(used[r], used[r] + n - shared)
        new[s, shared:n] = True
        used[r] += n - shared
        placed.setdefault(group, []).append(s)
    row = torch.tensor([rows[group] for group in groups])
    return Tree(row=row, index=index, new=new, width=max(used))


def tree_mask(tree: Tree, lengths: list[int], device: torch.device) -> torch.Tensor:
    """(rows, width, width) boolean: token i sees token j when j is i or an ancestor of i in its branch.

    Every sequence's columns increase along it, so j is an ancestor of i when j <= i and every sequence
    through i also runs through j: a subset test on bitmasks of the sequences through each token.
    """
    n_rows = int(tree.row.max()) + 1
    members = torch.zeros((n_rows, tree.width), dtype=torch.long)
    local = [0] * n_rows
    for s, n in enumerate(lengths):
        row = int(tree.row[s])
        if local[row] == 63:
            raise ValueError(f"more than 63 sequences in one example; use {SWITCH}")
        members[row, tree.index[s, :n]] |= 1 << local[row]
        local[row] += 1
    members = members.to(device)
    through_i, through_j = members[:, :, None], members[:, None, :]
    causal = torch.ones(tree.width, tree.width, dtype=torch.bool, device=device).tril()
    allowed = ((through_i & through_j) == through_i) & (through_i != 0) & causal
    return allowed | torch.eye(tree.width, dtype=torch.bool, device=device)  # padding sees itself


def attention_mask_for(allowed: torch.Tensor, implementation: str, dtype: torch.dtype) -> torch.Tensor:
    """The 4D mask the attention implementation takes: boolean for sdpa, additive for eager."""
    mask = allowed[:, None]
    if implementation == "sdpa":
        return mask
    return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(~mask, torch.finfo(dtype).min)


def pack(values: torch.Tensor, tree: Tree, lengths: list[int], fill: int = 0) -> torch.Tensor:
    """Scatter per-sequence values (..., sequences, length) into packed rows (..., rows, width)."""
    n_rows = int(tree.row.max()) + 1
    packed = values.new_full((*values.shape[:-2], n_rows, tree.width), fill)
    for s, n in enumerate(lengths):
        packed[..., int(tree.row[s]), tree.index[s, :n].to(values.device)] = values[..., s, :n]
    return packed


@dataclass
class Layout:
    """How a batch packs: the same for the policy and the reference model, so computed once for both."""

    key: tuple[torch.Tensor, ...]
    """The batch's `input_ids`, `labels` and groups: TRL hands both models the very same tensors."""
    tree: Tree
    lengths: list[int]
    allowed: torch.Tensor
    input_ids: torch.Tensor
    position_ids: torch.Tensor
    shift_labels: torch.Tensor
    hidden_index: torch.Tensor
    """(sequences, answers) flat index into the packed (rows x width) hidden states."""
    columns: torch.Tensor
    """(sequences, answers) column of each scored position in TRL's (length - 1) layout; length - 1 on padding."""

    def matches(self, key: tuple[torch.Tensor, ...]) -> bool:
        return all(a is b for a, b in zip(self.key, key, strict=True))


@dataclass
class Plan:
    """One shared-prefix forward: the layout and the packed backbone inputs."""

    layout: Layout
    backbone_kwargs: dict[str, Any]


class PrefixSharing:
    """Hooks that run every forward with TRL's fused LM head (`fused_lm_head=True`) as a shared-prefix forward.

    One instance serves the policy and the reference model: they see the same batches.
    """

    def __init__(self) -> None:
        self.pending: Plan | None = None
        self.active: Plan | None = None
        self.layout: Layout | None = None

    def attach(self, module: torch.nn.Module, model: torch.nn.Module) -> list[RemovableHandle]:
        """Hook `module` (what the trainer calls: a PEFT wrapper, say) and the backbone of `model`, the transformers
        model inside it; `check_prefix_sharing(model)` first."""
        check_prefix_sharing(model)
        backbone = model.base_model

        def plan_hook(_module: torch.nn.Module, args: tuple, kwargs: dict[str, Any]) -> tuple[tuple, dict]:
            groups = kwargs.pop(PREFIX_GROUPS_KEY, None)
            self.pending = self.active = None
            if groups is not None and kwargs.get("fused_lm_head") and kwargs.get("pixel_values_videos") is None:
                self.pending = self._plan(model, backbone, groups, kwargs)
            return args, kwargs

        def restore_hook(_module: torch.nn.Module, _args: tuple, _kwargs: dict, output: Any) -> Any:
            plan, self.active = self.active, None
            if plan is not None:
                for key in PER_TOKEN_OUTPUTS:
                    if getattr(output, key, None) is not None:
                        setattr(output, key, _unscatter(getattr(output, key), plan.layout))
            return output

        def pack_hook(_module: torch.nn.Module, args: tuple, kwargs: dict[str, Any]) -> tuple[tuple, dict] | None:
            plan, self.pending = self.pending, None
            if plan is None:
                return None
            self.active = plan
            kept = {key: value for key, value in kwargs.items() if key not in UNPACKED_KEYS}
            return args, {**kept, **plan.backbone_kwargs}

        def gather_hook(_module: torch.nn.Module, _args: tuple, output: Any) -> Any:
            if self.active is not None:
                hidden = output.last_hidden_state
                flat = hidden.reshape(-1, hidden.size(-1))
                output.last_hidden_state = flat[self.active.layout.hidden_index]
            return output

        return [
            module.register_forward_pre_hook(plan_hook, with_kwargs=True),
            module.register_forward_hook(restore_hook, with_kwargs=True),
            backbone.register_forward_pre_hook(pack_hook, with_kwargs=True),
            backbone.register_forward_hook(gather_hook),
        ]

    def _plan(
        self, model: torch.nn.Module, backbone: torch.nn.Module, groups: torch.Tensor, kwargs: dict[str, Any]
    ) -> Plan:
        key = (kwargs["input_ids"], kwargs["labels"], groups)
        if self.layout is None or not self.layout.matches(key):
            self.layout = _layout(backbone, key, kwargs)
        layout = self.layout
        kwargs.pop("labels")
        kwargs["shift_labels"] = layout.shift_labels
        layer_types = set(getattr(model.config.get_text_config(), "layer_types", None) or ["full_attention"])
        mask = attention_mask_for(layout.allowed, model.config._attn_implementation, model.dtype)
        backbone_kwargs: dict[str, Any] = {
            "input_ids": layout.input_ids,
            "attention_mask": {layer_type: mask for layer_type in layer_types},
            "position_ids": layout.position_ids,
        }
        images = _image_blocks(model, kwargs)
        if images is not None:
            ids = layout.key[0].cpu()
            order = _packed_image_order(
                ids, layout.tree, layout.lengths, model.config.image_token_id, [len(b) for b in images]
            )
            backbone_kwargs["mm_encoder_outputs"] = {
                "image": BaseModelOutputWithPooling(pooler_output=tuple(images[i] for i in order))
            }
            kwargs.pop("mm_encoder_outputs", None)
        return Plan(layout, backbone_kwargs)


def _layout(backbone: torch.nn.Module, key: tuple[torch.Tensor, ...], kwargs: dict[str, Any]) -> Layout:
    input_ids, labels, groups = key
    attention_mask = kwargs["attention_mask"]
    lengths = attention_mask.sum(dim=1).tolist()
    columns = torch.arange(attention_mask.size(1), device=attention_mask.device)
    if not torch.equal(attention_mask.bool(), columns < attention_mask.sum(dim=1, keepdim=True)):
        raise ValueError(f"the shared-prefix forward needs right-padded sequences; train with {SWITCH}")
    tree = build_tree(input_ids.cpu(), lengths, groups.tolist())
    shift_labels, hidden_index, scored_columns = _scored_positions(labels, tree)
    return Layout(
        key=key,
        tree=tree,
        lengths=lengths,
        allowed=tree_mask(tree, lengths, input_ids.device),
        input_ids=pack(input_ids, tree, lengths),
        position_ids=pack(_positions(backbone, kwargs), tree, lengths),
        shift_labels=shift_labels,
        hidden_index=hidden_index.to(input_ids.device),
        columns=scored_columns.to(input_ids.device),
    )


def _positions(backbone: torch.nn.Module, kwargs: dict[str, Any]) -> torch.Tensor:
    """(3, sequences, length) position ids of the unshared sequences, as the model computes them."""
    input_ids, attention_mask = kwargs["input_ids"], kwargs["attention_mask"]
    positions = backbone.compute_3d_position_ids(
        input_ids=input_ids,
        inputs_embeds=None,
        image_grid_thw=kwargs.get("image_grid_thw"),
        video_grid_thw=None,
        attention_mask=attention_mask,
        cache=None,
        mm_token_type_ids=kwargs.get("mm_token_type_ids"),
    )
    if positions is None:  # text only: positions count the tokens, on all three rows
        positions = (attention_mask.long().cumsum(dim=1) - 1).clamp(min=0).expand(3, -1, -1)
    return positions


def _image_blocks(model: torch.nn.Module, kwargs: dict[str, Any]) -> list[torch.Tensor] | None:
    """Feature block of every image of every sequence, in sequence order: the shared ones, else encoded here."""
    shared = kwargs.get("mm_encoder_outputs")
    if shared is not None and shared.get("image") is not None:
        return list(shared["image"].pooler_output)
    if kwargs.get("pixel_values") is None:
        return None
    outputs = model.get_image_features(kwargs["pixel_values"], kwargs["image_grid_thw"], return_dict=True)
    return list(outputs.pooler_output)


def _packed_image_order(
    input_ids: torch.Tensor, tree: Tree, lengths: list[int], image_token: int, block_sizes: list[int]
) -> list[int]:
    """Indices (into the per-sequence blocks) of the images the packed rows show, in the order of their tokens."""
    found: list[tuple[int, int, int]] = []
    block = 0
    for s, n in enumerate(lengths):
        columns = (input_ids[s, :n] == image_token).nonzero().flatten()
        start = 0
        while start < len(columns):
            size = block_sizes[block]
            tokens = columns[start : start + size]
            is_new = tree.new[s, tokens]
            if is_new.any() != is_new.all():
                raise ValueError(f"an image is only partly shared between two sequences of an example; use {SWITCH}")
            if is_new.all():
                found.append((int(tree.row[s]), int(tree.index[s, tokens[0]]), block))
            start, block = start + size, block + 1
    return [b for _, _, b in sorted(found)]


def _scored_positions(labels: torch.Tensor, tree: Tree) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """For the labels TRL scores (not -100, after the first token): pre-shifted labels, the packed position of the
    hidden state predicting each, and its column in TRL's (length - 1) layout. Padded with -100 / 0 / length - 1."""
    scored = labels[:, 1:] != -100
    counts = scored.sum(dim=1)
    width = max(int(counts.max()), 1)
    sequence, column = scored.nonzero(as_tuple=True)
    slot = (scored.long().cumsum(dim=1) - 1)[sequence, column]
    shift_labels = labels.new_full((labels.size(0), width), -100)
    shift_labels[sequence, slot] = labels[sequence, column + 1]
    packed = tree.row.to(labels.device)[sequence] * tree.width + tree.index.to(labels.device)[sequence, column]
    hidden_index = torch.zeros_like(shift_labels)
    hidden_index[sequence, slot] = packed
    columns = torch.full_like(shift_labels, labels.size(1) - 1)
    columns[sequence, slot] = column
    return shift_labels, hidden_index, columns


def _unscatter(values: torch.Tensor, layout: Layout) -> torch.Tensor:
    """(sequences, answers) fused-head output -> TRL's (sequences, length - 1), zero where nothing is scored."""
    full = values.new_zeros((values.size(0), layout.key[0].size(1)))
    return full.scatter(1, layout.columns, values)[:, :-1]
