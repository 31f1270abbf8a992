// Synthetic pictures for the demo Janus model: one flat-coloured shape (circle, square, triangle, star)
// on a plain background, with the prompt that asks for it and the caption that describes it.
//
//   prompt  "a small red circle on a blue background, top left"
//   caption "A small red circle on a blue background, in the top left."
//
// Every attribute combination is either training or held out, by a fixed rule on (shape, colour,
// background): held-out combinations are never shown during training and are what the quality tests
// ask for, so they measure composition, not memory.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "io/image.hpp"

namespace januskit::training {

enum class Shape { circle, square, triangle, star };
enum class Size { small, large };
enum class Position { center, top_left, top_right, bottom_left, bottom_right };

struct Colour {
  const char* name;
  uint8_t r, g, b;
};

const std::vector<Colour>& shape_colours();       // 10 named colours
const std::vector<Colour>& background_colours();  // 6 named backgrounds
const std::vector<std::string>& shape_names();
const char* size_name(Size s);
const char* position_name(Position p);  // "center", "top left", ...

struct ShapeScene {
  Shape shape = Shape::circle;
  int colour = 0;      // index into shape_colours()
  int background = 0;  // index into background_colours()
  Size size = Size::large;
  Position position = Position::center;
  // Offset of the centre from its canonical place, in pixels of a 32x32 picture (see jittered() and
  // loosely_placed()).
  float dx = 0, dy = 0;
  // Drawn size relative to the size's nominal radius (loosely_placed() varies it).
  float scale = 1;

  // In pixels of a 32x32 picture: small 6, large 10; the canonical places are laid out for these.
  int nominal_radius() const { return size == Size::small ? 6 : 10; }
  float radius() const { return static_cast<float>(nominal_radius()) * scale; }

  std::string shape_name() const;
  std::string colour_name() const;
  std::string background_name() const;
};

// True for (shape, colour, background) combinations kept out of training (about one in eight).
bool held_out(const ShapeScene& s);

// A random scene in its canonical place; `held_out_only` selects from the held-out combinations
// instead of the training ones.
ShapeScene random_scene(std::mt19937_64& rng, bool held_out_only = false);

// The scene moved by up to one pixel in x and y: variety, so that neither the VQ tokenizer, nor the
// understanding path, nor image generation depends on one exact picture per prompt.
ShapeScene jittered(ShapeScene scene, std::mt19937_64& rng);

// The scene redrawn anywhere on the canvas (the whole shape visible) at 85-115 % of its size, its
// position then being the nearest canonical place: the pictures `describe` meets (a generated one,
// a user's) are not drawn on the training grid, and reading them must not depend on it.
ShapeScene loosely_placed(ShapeScene scene, std::mt19937_64& rng);

// Renders the scene at `size` x `size` pixels (anti-aliased edges); the demo model works at 32.
io::RgbImage render(const ShapeScene& scene, int size = 32);

// A text-to-image prompt for the scene. Some templates leave out size or position (those are then
// whatever the scene has), so short prompts like "a red circle on a white background" work too.
std::string prompt_for(const ShapeScene& scene, std::mt19937_64& rng);
// The canonical prompt (all attributes, one template): what the tests and samples use.
std::string canonical_prompt(const ShapeScene& scene);
// The description `describe` should give.
std::string caption_for(const ShapeScene& scene);

// A question about the scene and its answer, for understanding training (the default describe question
// "Describe this image." is one of them).
struct QuestionAnswer {
  std::string question, answer;
};
QuestionAnswer question_for(const ShapeScene& scene, std::mt19937_64& rng);

// Every distinct text the demo corpus can produce (prompts, captions, questions, answers) for training
// the tokenizer.
std::vector<std::string> shapes_corpus();

}  // namespace januskit::training
