#include "training/shapes_data.hpp"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <limits>

#include "core/error.hpp"

namespace januskit::training {

const std::vector<Colour>& shape_colours() {
  static const std::vector<Colour> c = {
      {"red", 220, 30, 30},    {"green", 40, 170, 60},  {"blue", 40, 80, 225},   {"yellow", 245, 215, 40},
      {"orange", 245, 140, 25}, {"purple", 140, 60, 190}, {"pink", 245, 120, 185}, {"cyan", 40, 205, 215},
      {"white", 248, 248, 248}, {"black", 18, 18, 18},
  };
  return c;
}

const std::vector<Colour>& background_colours() {
  static const std::vector<Colour> c = {
      {"white", 248, 248, 248}, {"black", 18, 18, 18}, {"gray", 128, 128, 128},
      {"blue", 40, 80, 225},    {"green", 40, 170, 60}, {"yellow", 245, 215, 40},
  };
  return c;
}

const std::vector<std::string>& shape_names() {
  static const std::vector<std::string> n = {"circle", "square", "triangle", "star"};
  return n;
}

const char* size_name(Size s) { return s == Size::small ? "small" : "large"; }

const char* position_name(Position p) {
  switch (p) {
    case Position::center: return "center";
    case Position::top_left: return "top left";
    case Position::top_right: return "top right";
    case Position::bottom_left: return "bottom left";
    case Position::bottom_right: return "bottom right";
  }
  return "center";
}

std::string ShapeScene::shape_name() const { return shape_names()[static_cast<size_t>(shape)]; }
std::string ShapeScene::colour_name() const { return shape_colours()[static_cast<size_t>(colour)].name; }
std::string ShapeScene::background_name() const { return background_colours()[static_cast<size_t>(background)].name; }

bool held_out(const ShapeScene& s) {
  // A fixed, evenly spread rule: about 1 in 8 of the (shape, colour, background) triples.
  const int key = static_cast<int>(s.shape) * 131 + s.colour * 17 + s.background * 7;
  return key % 8 == 3;
}

ShapeScene random_scene(std::mt19937_64& rng, bool held_out_only) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  while (true) {
    ShapeScene s;
    s.shape = static_cast<Shape>(pick(4));
    s.colour = pick(static_cast<int>(shape_colours().size()));
    s.background = pick(static_cast<int>(background_colours().size()));
    // A shape must stand out from its background.
    if (shape_colours()[s.colour].name == std::string(background_colours()[s.background].name)) continue;
    if (held_out(s) != held_out_only) continue;
    s.size = pick(2) == 0 ? Size::small : Size::large;
    s.position = static_cast<Position>(pick(5));
    return s;
  }
}

ShapeScene jittered(ShapeScene s, std::mt19937_64& rng) {
  s.dx = static_cast<float>(static_cast<int>(rng() % 3) - 1);
  s.dy = static_cast<float>(static_cast<int>(rng() % 3) - 1);
  return s;
}

namespace {

// Geometry is defined on a 32x32 canvas and scaled to the picture size.
float unit(int size) { return static_cast<float>(size) / 32.0f; }

constexpr Position kPositions[] = {Position::center, Position::top_left, Position::top_right, Position::bottom_left,
                                   Position::bottom_right};

// The canonical centre of `position` for the scene's shape size (its nominal radius), on the 32x32 canvas.
cv::Point2f canonical_centre(const ShapeScene& s, Position position) {
  const float margin = static_cast<float>(s.nominal_radius()) + 2.0f;
  const float lo = margin, hi = 32.0f - margin, mid = 16.0f;
  switch (position) {
    case Position::center: return {mid, mid};
    case Position::top_left: return {lo, lo};
    case Position::top_right: return {hi, lo};
    case Position::bottom_left: return {lo, hi};
    case Position::bottom_right: return {hi, hi};
  }
  return {mid, mid};
}

cv::Point2f centre_of(const ShapeScene& s, int size) {
  const cv::Point2f c = canonical_centre(s, s.position);
  return {(c.x + s.dx) * unit(size), (c.y + s.dy) * unit(size)};
}

std::vector<cv::Point> polygon(const ShapeScene& s, cv::Point2f c, int shift, int size) {
  const float scale = static_cast<float>(1 << shift);
  std::vector<cv::Point> pts;
  auto add = [&](double x, double y) {
    pts.emplace_back(static_cast<int>(std::lround(x * scale)), static_cast<int>(std::lround(y * scale)));
  };
  const double r = s.radius() * unit(size);
  switch (s.shape) {
    case Shape::square: {
      const double h = r * 0.85;
      add(c.x - h, c.y - h), add(c.x + h, c.y - h), add(c.x + h, c.y + h), add(c.x - h, c.y + h);
      break;
    }
    case Shape::triangle:
      for (int k = 0; k < 3; ++k) {
        const double a = -M_PI / 2 + k * 2 * M_PI / 3;
        add(c.x + r * std::cos(a), c.y + r * 1.05 * std::sin(a) + r * 0.12);
      }
      break;
    case Shape::star:
      for (int k = 0; k < 10; ++k) {
        const double a = -M_PI / 2 + k * M_PI / 5, rr = k % 2 == 0 ? r * 1.1 : r * 0.45;
        add(c.x + rr * std::cos(a), c.y + rr * std::sin(a));
      }
      break;
    case Shape::circle:
      break;
  }
  return pts;
}

}  // namespace

ShapeScene loosely_placed(ShapeScene s, std::mt19937_64& rng) {
  std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
  s.scale = 0.85f + 0.3f * uniform(rng);
  // The star's points reach 1.1 radii out; with a pixel and a half more, the anti-aliased edge
  // stays off the border row, as on the canonical places.
  const float reach = s.radius() * 1.1f + 1.5f;
  const cv::Point2f c(reach + (32.0f - 2 * reach) * uniform(rng), reach + (32.0f - 2 * reach) * uniform(rng));
  float best = std::numeric_limits<float>::max();
  for (Position p : kPositions) {
    const cv::Point2f d = c - canonical_centre(s, p);
    if (d.dot(d) < best) best = d.dot(d), s.position = p;
  }
  const cv::Point2f home = canonical_centre(s, s.position);
  s.dx = c.x - home.x;
  s.dy = c.y - home.y;
  return s;
}

io::RgbImage render(const ShapeScene& s, int size) {
  const Colour& bg = background_colours()[static_cast<size_t>(s.background)];
  const Colour& fg = shape_colours()[static_cast<size_t>(s.colour)];
  cv::Mat img(size, size, CV_8UC3, cv::Scalar(bg.r, bg.g, bg.b));  // RGB order throughout
  const cv::Scalar colour(fg.r, fg.g, fg.b);
  const cv::Point2f c = centre_of(s, size);
  constexpr int kShift = 4;  // sub-pixel precision for anti-aliased edges
  if (s.shape == Shape::circle) {
    cv::circle(img, cv::Point(static_cast<int>(std::lround(c.x * 16)), static_cast<int>(std::lround(c.y * 16))),
               static_cast<int>(std::lround(s.radius() * unit(size) * 16.0f)), colour, cv::FILLED, cv::LINE_AA, kShift);
  } else {
    std::vector<std::vector<cv::Point>> polys = {polygon(s, c, kShift, size)};
    cv::fillPoly(img, polys, colour, cv::LINE_AA, kShift);
  }
  io::RgbImage out{size, size, std::vector<uint8_t>(static_cast<size_t>(size * size * 3))};
  std::memcpy(out.pixels.data(), img.data, out.pixels.size());
  return out;
}

std::string canonical_prompt(const ShapeScene& s) {
  return cat("a ", size_name(s.size), " ", s.colour_name(), " ", s.shape_name(), " on a ", s.background_name(),
             " background, ", position_name(s.position));
}

std::string prompt_for(const ShapeScene& s, std::mt19937_64& rng) {
  switch (rng() % 5) {
    case 0: return canonical_prompt(s);
    case 1: return cat("a ", s.colour_name(), " ", s.shape_name(), " on a ", s.background_name(), " background");
    case 2: return cat("a ", size_name(s.size), " ", s.colour_name(), " ", s.shape_name(), " on a ", s.background_name(),
                       " background");
    case 3: return cat("a ", s.colour_name(), " ", s.shape_name(), " on a ", s.background_name(), " background, ",
                       position_name(s.position));
    default: return cat(s.colour_name(), " ", s.shape_name(), ", ", s.background_name(), " background");
  }
}

std::string caption_for(const ShapeScene& s) {
  std::string where = s.position == Position::center ? "in the center" : cat("in the ", position_name(s.position));
  return cat("A ", size_name(s.size), " ", s.colour_name(), " ", s.shape_name(), " on a ", s.background_name(),
             " background, ", where, ".");
}

QuestionAnswer question_for(const ShapeScene& s, std::mt19937_64& rng) {
  switch (rng() % 6) {
    case 0: return {"What colour is the shape?", cat("The shape is ", s.colour_name(), ".")};
    case 1: return {"What shape is in the picture?", cat("It is a ", s.shape_name(), ".")};
    case 2: return {"Where is the shape?",
                    s.position == Position::center ? "It is in the center." : cat("It is in the ", position_name(s.position), ".")};
    case 3: return {"What colour is the background?", cat("The background is ", s.background_name(), ".")};
    default: return {"Describe this image.", caption_for(s)};  // the default question, twice as often
  }
}

std::vector<std::string> shapes_corpus() {
  std::vector<std::string> out;
  std::mt19937_64 rng(1);
  for (int i = 0; i < 3000; ++i) {
    ShapeScene s = random_scene(rng, i % 8 == 0);
    out.push_back(prompt_for(s, rng));
    out.push_back(caption_for(s));
    QuestionAnswer qa = question_for(s, rng);
    out.push_back(qa.question);
    out.push_back(qa.answer);
  }
  return out;
}

}  // namespace januskit::training
