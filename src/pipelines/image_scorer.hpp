// How well a picture shows a prompt, judged by Janus-Pro's own understanding path: the score that
// `generate --best-of N` ranks its candidates by. Two readouts:
//   caption  the mean log-probability of the prompt's tokens as the answer to "Describe this image."
//            (teacher-forced, one forward pass): how readily the model would describe the picture
//            with the prompt's words;
//   yes      log p(" Yes") - log p(" No") as the whole answer to "Does this image show: {prompt}?
//            Answer yes or no." (each teacher-forced over all of its tokens).
// Both are deterministic (no sampling) and need the understanding encoder loaded.
#pragma once

#include <string>
#include <string_view>

#include "io/image.hpp"

namespace januskit::pipelines {

struct JanusBundle;

enum class ScoreReadout { caption, yes };

ScoreReadout parse_score_readout(std::string_view name);  // UsageError naming the choices
const char* score_readout_name(ScoreReadout readout);

// Higher is better; comparable between pictures of one prompt and one readout only.
double score_image(JanusBundle& bundle, const io::RgbImage& picture, const std::string& prompt, ScoreReadout readout);

}  // namespace januskit::pipelines
