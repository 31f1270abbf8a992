// Stop strings over streamed text: text is released only once it can no longer be the start of a
// stop string, so a streaming client never sees half of "</answer>" and then a retraction.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace januskit::engine {

class StopStringFilter {
 public:
  explicit StopStringFilter(std::vector<std::string> stops);

  // Adds a piece of generated text; returns the text that is now safe to show.
  std::string push(std::string_view piece);
  // True once a stop string appeared; the text up to it has been released, the rest dropped.
  bool stopped() const { return stopped_; }
  // Releases what was held back (at the end of generation, when no stop string can complete).
  std::string flush();
  // Everything released so far.
  const std::string& text() const { return released_; }

 private:
  std::vector<std::string> stops_;
  std::string pending_;   // held back: a suffix that may begin a stop string
  std::string released_;
  bool stopped_ = false;
};

}  // namespace januskit::engine
