// `generate --plan` (T2I-R1's idea, a textual plan before the image tokens): a language model first
// rewrites the user's prompt into a concrete description of the picture (objects, colours, layout),
// which becomes the image prompt. The planner is any model `ask` runs (its answer after the reasoning,
// greedy), or, by default, Janus-Pro's own language model, which is a chat model (one greedy chat
// turn, no image). Greedy both ways, so a plan is reproducible from the prompt and the planner alone.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipelines/text_model.hpp"

namespace januskit::pipelines {

struct JanusBundle;

// The instruction the planner answers.
std::string plan_question(const std::string& prompt);

// The plans of `prompts` by a text model (ask's pipeline, greedy, at most max_tokens new tokens,
// reasoning included). Throws Error naming the prompt when an answer is empty.
std::vector<std::string> plan_with_model(const ModelRequest& planner, const std::vector<std::string>& prompts,
                                         int64_t max_tokens);

// The plan of `prompt` by a loaded Janus model's own language model (needs its understanding head).
std::string plan_with_janus(JanusBundle& bundle, const std::string& prompt, int64_t max_tokens);

}  // namespace januskit::pipelines
