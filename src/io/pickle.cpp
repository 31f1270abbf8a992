#include "io/pickle.hpp"

#include <array>
#include <cstring>
#include <map>
#include <optional>
#include <unordered_map>

#include "core/error.hpp"

namespace januskit::io {
namespace {

// ---- values ----------------------------------------------------------------------------------

enum class Kind : uint8_t { none, boolean, integer, real, string, tuple, list, dict, global, storage, tensor };

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::none: return "None";
    case Kind::boolean: return "a bool";
    case Kind::integer: return "an int";
    case Kind::real: return "a float";
    case Kind::string: return "a string";
    case Kind::tuple: return "a tuple";
    case Kind::list: return "a list";
    case Kind::dict: return "a dict";
    case Kind::global: return "a class or function";
    case Kind::storage: return "a storage";
    case Kind::tensor: return "a tensor";
  }
  return "a value";
}

// The globals a state_dict pickle may name. Anything else is refused when referenced.
enum class Global : uint8_t {
  ordered_dict,
  rebuild_tensor_v2,
  rebuild_tensor_v3,
  rebuild_parameter,
  rebuild_parameter_with_state,
  rebuild_from_type_v2,
  tensor_type,     // torch.Tensor, torch.nn.Parameter: only as _rebuild_from_type_v2's type argument
  storage_type,    // torch.FloatStorage, ... (dtype in Value::aux), torch.UntypedStorage (U8)
  dtype_object,    // torch.float32, ... (dtype in Value::aux)
};

// A value is small and trivially copyable; containers and strings live in the interpreter's arenas
// and are referred to by index, so copies are cheap and nothing is freed recursively.
struct Value {
  Kind kind = Kind::none;
  uint32_t aux = 0;   // Global: DType for storage_type / dtype_object
  int64_t i = 0;      // bool, int, Global, or arena index
  double f = 0;
};

struct Dict {
  std::vector<std::pair<Value, Value>> items;       // insertion order
  std::unordered_map<std::string, size_t> index;    // canonical key -> position in items
};

struct KnownGlobal {
  std::string_view module, name;
  Global global;
  DType dtype;
};

// A plain array: its size follows the list (a std::array of fixed size would pad with empty names).
constexpr KnownGlobal kKnownGlobals[] = {
    {"collections", "OrderedDict", Global::ordered_dict, DType::U8},
    {"torch._utils", "_rebuild_tensor_v2", Global::rebuild_tensor_v2, DType::U8},
    {"torch._utils", "_rebuild_tensor_v3", Global::rebuild_tensor_v3, DType::U8},
    {"torch._utils", "_rebuild_parameter", Global::rebuild_parameter, DType::U8},
    {"torch._utils", "_rebuild_parameter_with_state", Global::rebuild_parameter_with_state, DType::U8},
    {"torch._tensor", "_rebuild_from_type_v2", Global::rebuild_from_type_v2, DType::U8},
    {"torch", "Tensor", Global::tensor_type, DType::U8},
    {"torch._tensor", "Tensor", Global::tensor_type, DType::U8},
    {"torch.nn.parameter", "Parameter", Global::tensor_type, DType::U8},
    {"torch", "DoubleStorage", Global::storage_type, DType::F64},
    {"torch", "FloatStorage", Global::storage_type, DType::F32},
    {"torch", "HalfStorage", Global::storage_type, DType::F16},
    {"torch", "BFloat16Storage", Global::storage_type, DType::BF16},
    {"torch", "LongStorage", Global::storage_type, DType::I64},
    {"torch", "IntStorage", Global::storage_type, DType::I32},
    {"torch", "ShortStorage", Global::storage_type, DType::I16},
    {"torch", "CharStorage", Global::storage_type, DType::I8},
    {"torch", "ByteStorage", Global::storage_type, DType::U8},
    {"torch", "BoolStorage", Global::storage_type, DType::BOOL},
    {"torch", "UntypedStorage", Global::storage_type, DType::U8},
    {"torch.storage", "UntypedStorage", Global::storage_type, DType::U8},
    {"torch", "float64", Global::dtype_object, DType::F64},
    {"torch", "float32", Global::dtype_object, DType::F32},
    {"torch", "float16", Global::dtype_object, DType::F16},
    {"torch", "bfloat16", Global::dtype_object, DType::BF16},
    {"torch", "float8_e4m3fn", Global::dtype_object, DType::F8_E4M3},
    {"torch", "float8_e5m2", Global::dtype_object, DType::F8_E5M2},
    {"torch", "int64", Global::dtype_object, DType::I64},
    {"torch", "int32", Global::dtype_object, DType::I32},
    {"torch", "int16", Global::dtype_object, DType::I16},
    {"torch", "int8", Global::dtype_object, DType::I8},
    {"torch", "uint64", Global::dtype_object, DType::U64},
    {"torch", "uint32", Global::dtype_object, DType::U32},
    {"torch", "uint16", Global::dtype_object, DType::U16},
    {"torch", "uint8", Global::dtype_object, DType::U8},
    {"torch", "bool", Global::dtype_object, DType::BOOL},
    {"torch", "double", Global::dtype_object, DType::F64},
    {"torch", "float", Global::dtype_object, DType::F32},
    {"torch", "half", Global::dtype_object, DType::F16},
};

const char* global_name(Global g) {
  switch (g) {
    case Global::ordered_dict: return "collections.OrderedDict";
    case Global::rebuild_tensor_v2: return "torch._utils._rebuild_tensor_v2";
    case Global::rebuild_tensor_v3: return "torch._utils._rebuild_tensor_v3";
    case Global::rebuild_parameter: return "torch._utils._rebuild_parameter";
    case Global::rebuild_parameter_with_state: return "torch._utils._rebuild_parameter_with_state";
    case Global::rebuild_from_type_v2: return "torch._tensor._rebuild_from_type_v2";
    case Global::tensor_type: return "torch.Tensor";
    case Global::storage_type: return "a torch storage type";
    case Global::dtype_object: return "a torch dtype";
  }
  return "a global";
}

// Opcode names for error messages (pickletools' names).
const char* opcode_name(uint8_t op) {
  switch (op) {
    case 0x80: return "PROTO"; case 0x95: return "FRAME"; case '.': return "STOP"; case '(': return "MARK";
    case '}': return "EMPTY_DICT"; case ']': return "EMPTY_LIST"; case ')': return "EMPTY_TUPLE";
    case 'J': return "BININT"; case 'K': return "BININT1"; case 'M': return "BININT2"; case 0x8a: return "LONG1";
    case 0x8b: return "LONG4"; case 'X': return "BINUNICODE"; case 0x8c: return "SHORT_BINUNICODE";
    case 0x8d: return "BINUNICODE8"; case 'T': return "BINSTRING"; case 'U': return "SHORT_BINSTRING";
    case 'G': return "BINFLOAT"; case 0x88: return "NEWTRUE"; case 0x89: return "NEWFALSE"; case 'N': return "NONE";
    case 't': return "TUPLE"; case 0x85: return "TUPLE1"; case 0x86: return "TUPLE2"; case 0x87: return "TUPLE3";
    case 'l': return "LIST"; case 'a': return "APPEND"; case 'e': return "APPENDS"; case 'd': return "DICT";
    case 's': return "SETITEM"; case 'u': return "SETITEMS"; case 'q': return "BINPUT"; case 'r': return "LONG_BINPUT";
    case 'h': return "BINGET"; case 'j': return "LONG_BINGET"; case 0x94: return "MEMOIZE"; case 'c': return "GLOBAL";
    case 0x93: return "STACK_GLOBAL"; case 'R': return "REDUCE"; case 'b': return "BUILD"; case 'Q': return "BINPERSID";
    case 'P': return "PERSID"; case '0': return "POP"; case '1': return "POP_MARK"; case '2': return "DUP";
    case 0x81: return "NEWOBJ"; case 0x92: return "NEWOBJ_EX"; case 'i': return "INST"; case 'o': return "OBJ";
    case 0x82: return "EXT1"; case 0x83: return "EXT2"; case 0x84: return "EXT4"; case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES"; case 0x8e: return "BINBYTES8"; case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER"; case 0x98: return "READONLY_BUFFER"; case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS"; case 0x91: return "FROZENSET"; case 'I': return "INT"; case 'L': return "LONG";
    case 'F': return "FLOAT"; case 'S': return "STRING"; case 'V': return "UNICODE"; case 'p': return "PUT";
    case 'g': return "GET";
  }
  return "unknown";
}

// Text from the file shown in a message: bounded, control characters escaped.
std::string printable(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 120)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 || u == 0x7f) ? cat("\\x", "0123456789abcdef"[u >> 4], "0123456789abcdef"[u & 15]) : std::string(1, c);
  }
  return s.size() > 120 ? out + "..." : out;
}

// Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF): tensor names end up in JSON output.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    int n = 0;
    uint32_t cp = 0;
    if (c < 0x80) { ++i; continue; }
    if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; }
    else return false;
    if (i + static_cast<size_t>(n) >= s.size()) return false;  // the continuation bytes are missing
    for (int k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += static_cast<size_t>(n) + 1;
  }
  return true;
}

// ---- the interpreter -------------------------------------------------------------------------

class Unpickler {
 public:
  Unpickler(std::span<const uint8_t> bytes, std::string_view path) : in_(bytes), path_(path) {}

  StateDictPickle run() {
    if (in_.size() > kMaxPickleBytes) {
      fail(cat("data.pkl is ", in_.size(), " bytes, over januskit's ", kMaxPickleBytes,
               "-byte limit for a state_dict pickle; the file is corrupt or not a state_dict"));
    }
    const Value root = execute();
    return flatten(root);
  }

 private:
  [[noreturn]] void fail(const std::string& problem) const { throw FileError(path_, problem); }
  [[noreturn]] void corrupt(const std::string& problem) const {
    fail(cat("data.pkl: ", problem, " (at byte ", op_pos_, "); the checkpoint is corrupt or not a torch.save file"));
  }

  // -- input --
  void need(uint64_t n) {
    if (n > in_.size() - pos_) corrupt(cat(opcode_name(op_), " needs ", n, " bytes but the pickle ends"));
  }
  uint64_t read_le(int n) {
    need(static_cast<uint64_t>(n));
    uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | in_[pos_ + static_cast<size_t>(k)];
    pos_ += static_cast<size_t>(n);
    return v;
  }
  std::string_view read_bytes(uint64_t n) {
    need(n);
    std::string_view s(reinterpret_cast<const char*>(in_.data() + pos_), n);
    pos_ += n;
    return s;
  }
  std::string_view read_line() {
    const size_t start = pos_;
    while (pos_ < in_.size() && in_[pos_] != '\n') ++pos_;
    if (pos_ >= in_.size()) corrupt("GLOBAL name without a newline");
    std::string_view s(reinterpret_cast<const char*>(in_.data() + start), pos_ - start);
    ++pos_;
    return s;
  }

  // -- stack --
  void push(Value v) {
    if (stack_.size() >= kMaxPickleStack) corrupt("stack grows past januskit's limit");
    stack_.push_back(v);
  }
  Value pop() {
    if (stack_.size() <= mark_floor()) corrupt(cat(opcode_name(op_), " on an empty stack"));
    Value v = stack_.back();
    stack_.pop_back();
    return v;
  }
  Value& top() {
    if (stack_.size() <= mark_floor()) corrupt(cat(opcode_name(op_), " on an empty stack"));
    return stack_.back();
  }
  size_t mark_floor() const { return marks_.empty() ? 0 : marks_.back(); }
  // Values pushed since the last MARK, removing them and the mark.
  std::vector<Value> pop_to_mark() {
    if (marks_.empty()) corrupt(cat(opcode_name(op_), " without a MARK"));
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Value> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }

  // -- constructors --
  Value make_int(int64_t v) { Value x; x.kind = Kind::integer; x.i = v; return x; }
  Value make_bool(bool v) { Value x; x.kind = Kind::boolean; x.i = v; return x; }
  Value make_string(std::string s) {
    strings_.push_back(std::move(s));
    Value x; x.kind = Kind::string; x.i = static_cast<int64_t>(strings_.size() - 1);
    return x;
  }
  Value make_seq(Kind kind, std::vector<Value> items) {
    seqs_.push_back(std::move(items));
    Value x; x.kind = kind; x.i = static_cast<int64_t>(seqs_.size() - 1);
    return x;
  }
  Value make_dict() {
    dicts_.emplace_back();
    Value x; x.kind = Kind::dict; x.i = static_cast<int64_t>(dicts_.size() - 1);
    return x;
  }
  Value make_global(Global g, DType d) {
    Value x; x.kind = Kind::global; x.i = static_cast<int64_t>(g); x.aux = static_cast<uint32_t>(d);
    return x;
  }
  const std::string& str(const Value& v) const { return strings_[static_cast<size_t>(v.i)]; }
  std::vector<Value>& seq(const Value& v) { return seqs_[static_cast<size_t>(v.i)]; }
  Dict& dict(const Value& v) { return dicts_[static_cast<size_t>(v.i)]; }
  Global global(const Value& v) const { return static_cast<Global>(v.i); }

  // -- opcodes --
  Value execute() {
    while (pos_ < in_.size()) {
      op_pos_ = pos_;
      op_ = in_[pos_++];
      switch (op_) {
        case 0x80: {  // PROTO
          const uint64_t proto = read_le(1);
          if (proto < 2 || proto > 5) corrupt(cat("pickle protocol ", proto, " (januskit reads 2 to 5)"));
          break;
        }
        case 0x95: {  // FRAME: a length prefix for buffering; the bytes follow inline
          const uint64_t n = read_le(8);
          if (n > in_.size() - pos_) corrupt(cat("FRAME of ", n, " bytes runs past the end"));
          break;
        }
        case '.': {  // STOP
          if (!marks_.empty()) corrupt("STOP inside an unclosed MARK");
          return pop();
        }
        case '(': marks_.push_back(stack_.size()); if (marks_.size() > kMaxPickleStack) corrupt("too many MARKs"); break;
        case '}': push(make_dict()); break;
        case ']': push(make_seq(Kind::list, {})); break;
        case ')': push(make_seq(Kind::tuple, {})); break;
        case 'N': push(Value{}); break;
        case 0x88: push(make_bool(true)); break;
        case 0x89: push(make_bool(false)); break;
        case 'J': push(make_int(static_cast<int32_t>(static_cast<uint32_t>(read_le(4))))); break;
        case 'K': push(make_int(static_cast<int64_t>(read_le(1)))); break;
        case 'M': push(make_int(static_cast<int64_t>(read_le(2)))); break;
        case 0x8a: push(make_int(read_long1())); break;
        case 'G': push(read_float()); break;
        case 'X': push(make_string(read_unicode(read_le(4)))); break;
        case 0x8c: push(make_string(read_unicode(read_le(1)))); break;
        case 0x8d: push(make_string(read_unicode(read_le(8)))); break;
        case 'T': {
          const auto n = static_cast<int32_t>(static_cast<uint32_t>(read_le(4)));
          if (n < 0) corrupt("BINSTRING with a negative length");
          push(make_string(latin1_to_utf8(read_bytes(static_cast<uint64_t>(n)))));
          break;
        }
        case 'U': push(make_string(latin1_to_utf8(read_bytes(read_le(1))))); break;
        case 't': push(make_seq(Kind::tuple, pop_to_mark())); break;
        case 0x85: { Value a = pop(); push(make_seq(Kind::tuple, {a})); break; }
        case 0x86: { Value b = pop(), a = pop(); push(make_seq(Kind::tuple, {a, b})); break; }
        case 0x87: { Value c = pop(), b = pop(), a = pop(); push(make_seq(Kind::tuple, {a, b, c})); break; }
        case 'l': push(make_seq(Kind::list, pop_to_mark())); break;
        case 'a': { Value v = pop(); append(top(), {v}); break; }
        case 'e': { std::vector<Value> items = pop_to_mark(); append(top(), items); break; }
        case 'd': {
          std::vector<Value> items = pop_to_mark();
          Value d = make_dict();
          set_items(d, items);
          push(d);
          break;
        }
        case 's': { Value v = pop(), k = pop(); set_items(top(), {k, v}); break; }
        case 'u': { std::vector<Value> items = pop_to_mark(); set_items(top(), items); break; }
        case 'q': put(read_le(1)); break;
        case 'r': put(read_le(4)); break;
        case 0x94: put(memo_.size()); break;
        case 'h': get(read_le(1)); break;
        case 'j': get(read_le(4)); break;
        case 'c': {
          const std::string_view module = read_line();
          const std::string_view name = read_line();
          push(resolve_global(module, name));
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          const Value name = pop(), module = pop();
          if (module.kind != Kind::string || name.kind != Kind::string) corrupt("STACK_GLOBAL needs two strings");
          push(resolve_global(str(module), str(name)));
          break;
        }
        case 'R': { Value args = pop(), callable = pop(); push(reduce(callable, args)); break; }
        case 'b': build(); break;
        case 'Q': { Value pid = pop(); push(persistent_load(pid)); break; }
        case '0': pop(); break;
        case '1': pop_to_mark(); break;
        default:
          fail(cat("data.pkl: unsupported pickle opcode 0x", "0123456789abcdef"[op_ >> 4], "0123456789abcdef"[op_ & 15],
                   " (", opcode_name(op_), ") at byte ", op_pos_,
                   "; januskit reads state_dict checkpoints saved by torch.save only"));
      }
    }
    corrupt("the pickle ends without STOP (truncated)");
  }

  int64_t read_long1() {
    const uint64_t n = read_le(1);
    if (n > 8) corrupt(cat("LONG1 integer of ", n, " bytes does not fit in 64 bits"));
    if (n == 0) return 0;
    uint64_t v = read_le(static_cast<int>(n));
    if (n < 8 && (v >> (8 * n - 1)) & 1) v |= ~uint64_t{0} << (8 * n);  // sign-extend two's complement
    return static_cast<int64_t>(v);
  }

  Value read_float() {
    need(8);
    uint64_t bits = 0;
    for (int k = 0; k < 8; ++k) bits = (bits << 8) | in_[pos_ + static_cast<size_t>(k)];  // big-endian
    pos_ += 8;
    Value x;
    x.kind = Kind::real;
    std::memcpy(&x.f, &bits, sizeof bits);
    return x;
  }

  std::string read_unicode(uint64_t n) {
    std::string s(read_bytes(n));
    if (!valid_utf8(s)) corrupt("a string is not valid UTF-8");
    return s;
  }

  // Python 2 str pickles (BINSTRING) are decoded as latin-1, as torch.load does with encoding="latin1".
  static std::string latin1_to_utf8(std::string_view bytes) {
    std::string out;
    out.reserve(bytes.size());
    for (char c : bytes) {
      const auto u = static_cast<unsigned char>(c);
      if (u < 0x80) {
        out += c;
      } else {
        out += static_cast<char>(0xC0 | (u >> 6));
        out += static_cast<char>(0x80 | (u & 0x3F));
      }
    }
    return out;
  }

  void put(uint64_t index) {
    if (memo_.size() >= kMaxPickleStack && !memo_.count(index)) corrupt("memo grows past januskit's limit");
    memo_[index] = top();
  }
  void get(uint64_t index) {
    auto it = memo_.find(index);
    if (it == memo_.end()) corrupt(cat("memo entry ", index, " is read before it is written"));
    push(it->second);
  }

  void append(Value& target, const std::vector<Value>& items) {
    if (target.kind != Kind::list) corrupt(cat("APPEND to ", kind_name(target.kind), ", expected a list"));
    auto& s = seq(target);
    s.insert(s.end(), items.begin(), items.end());
  }

  // A dict key as text: tensor names are strings; ints appear as keys of nested containers.
  std::string canonical_key(const Value& k) {
    // Appending rather than "s" + str: GCC 12 warns falsely (-Wstringop-overflow) on the latter.
    std::string key(1, k.kind == Kind::string ? 's' : 'i');
    if (k.kind == Kind::string) return key.append(str(k));
    if (k.kind == Kind::integer) return key.append(std::to_string(k.i));
    corrupt(cat("dict key is ", kind_name(k.kind), "; state_dict keys are strings"));
  }

  void set_items(Value& target, const std::vector<Value>& items) {
    if (target.kind != Kind::dict) corrupt(cat("SETITEM on ", kind_name(target.kind), ", expected a dict"));
    if (items.size() % 2 != 0) corrupt("SETITEMS with an odd number of values");
    Dict& d = dict(target);
    for (size_t k = 0; k < items.size(); k += 2) {
      auto [it, inserted] = d.index.emplace(canonical_key(items[k]), d.items.size());
      if (inserted) {
        d.items.emplace_back(items[k], items[k + 1]);
      } else {
        d.items[it->second].second = items[k + 1];  // Python semantics: the last write wins
      }
    }
  }

  Value resolve_global(std::string_view module, std::string_view name) {
    for (const KnownGlobal& g : kKnownGlobals) {
      if (g.module == module && g.name == name) return make_global(g.global, g.dtype);
    }
    fail(cat("refusing to load: the pickle references ", printable(module), ".", printable(name),
             "; only state_dict checkpoints (dicts of tensors saved by torch.save) are supported"));
  }

  // ('storage', StorageType, key, location, numel) -> a storage; the same key gives the same storage.
  Value persistent_load(const Value& pid) {
    if (pid.kind != Kind::tuple) corrupt(cat("persistent id is ", kind_name(pid.kind), ", expected a tuple"));
    const std::vector<Value> t = seq(pid);
    if (t.size() != 5 || t[0].kind != Kind::string || str(t[0]) != "storage") {
      corrupt("persistent id is not ('storage', type, key, location, numel)");
    }
    if (t[1].kind != Kind::global || global(t[1]) != Global::storage_type) corrupt("persistent id without a storage type");
    if (t[2].kind != Kind::string || t[3].kind != Kind::string || t[4].kind != Kind::integer || t[4].i < 0) {
      corrupt("persistent id has a malformed key, location or size");
    }
    PickledStorage s;
    s.dtype = static_cast<DType>(t[1].aux);
    s.key = str(t[2]);
    s.location = str(t[3]);
    s.numel = static_cast<uint64_t>(t[4].i);
    uint64_t nbytes = 0;
    if (!checked_mul(s.numel, static_cast<uint64_t>(dtype_size(s.dtype)), nbytes)) corrupt("storage size overflows");
    if (s.key.empty() || s.key.find('/') != std::string::npos || s.key == "." || s.key == "..") {
      corrupt(cat("storage key '", printable(s.key), "' is not a plain name"));
    }
    auto [it, inserted] = storage_index_.emplace(s.key, storages_.size());
    if (inserted) {
      storages_.push_back(std::move(s));
    } else {
      const PickledStorage& old = storages_[it->second];
      if (old.dtype != s.dtype || old.numel != s.numel) corrupt(cat("storage '", printable(s.key), "' is described twice, differently"));
    }
    Value x;
    x.kind = Kind::storage;
    x.i = static_cast<int64_t>(it->second);
    return x;
  }

  std::vector<int64_t> int_tuple(const Value& v, const char* what) {
    if (v.kind != Kind::tuple) corrupt(cat("tensor ", what, " is ", kind_name(v.kind), ", expected a tuple of ints"));
    const std::vector<Value>& items = seq(v);
    if (items.size() > 64) corrupt(cat("tensor ", what, " has ", items.size(), " dimensions"));
    std::vector<int64_t> out;
    for (const Value& x : items) {
      if (x.kind != Kind::integer || x.i < 0) corrupt(cat("tensor ", what, " holds something other than a non-negative int"));
      out.push_back(x.i);
    }
    return out;
  }

  // _rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])
  // _rebuild_tensor_v3(storage, offset, size, stride, requires_grad, hooks, dtype[, metadata])
  Value rebuild_tensor(const std::vector<Value>& a, bool v3) {
    const size_t min_args = v3 ? 7 : 6;
    if (a.size() < min_args || a.size() > min_args + 1) {
      corrupt(cat(v3 ? "_rebuild_tensor_v3" : "_rebuild_tensor_v2", " called with ", a.size(), " arguments"));
    }
    if (a[0].kind != Kind::storage) corrupt("tensor rebuilt from something that is not a storage");
    if (a[1].kind != Kind::integer || a[1].i < 0) corrupt("tensor storage offset is not a non-negative int");
    PickledTensor t;
    t.storage = static_cast<size_t>(a[0].i);
    t.offset = a[1].i;
    t.sizes = int_tuple(a[2], "size");
    t.strides = int_tuple(a[3], "stride");
    if (t.sizes.size() != t.strides.size()) corrupt("tensor size and stride differ in length");
    const PickledStorage& s = storages_[t.storage];
    t.dtype = s.dtype;
    if (v3) {
      if (a[6].kind != Kind::global || global(a[6]) != Global::dtype_object) corrupt("_rebuild_tensor_v3 without a dtype");
      t.dtype = static_cast<DType>(a[6].aux);
    }
    // The view must stay inside its storage: offset + sum((size - 1) * stride) + 1 elements.
    uint64_t last = static_cast<uint64_t>(t.offset), numel = 1;
    bool ok = true;
    for (size_t d = 0; d < t.sizes.size(); ++d) {
      uint64_t step = 0;
      ok = ok && checked_mul(numel, static_cast<uint64_t>(t.sizes[d]), numel);
      if (t.sizes[d] > 0) {
        ok = ok && checked_mul(static_cast<uint64_t>(t.sizes[d] - 1), static_cast<uint64_t>(t.strides[d]), step) &&
             checked_add(last, step, last);
      }
    }
    uint64_t extent = 0, numel_bytes = 0;
    ok = ok && checked_add(last, 1, extent) && checked_mul(extent, static_cast<uint64_t>(dtype_size(t.dtype)), extent) &&
         checked_mul(numel, static_cast<uint64_t>(dtype_size(t.dtype)), numel_bytes) &&
         last <= static_cast<uint64_t>(INT64_MAX);
    if (!ok) corrupt("tensor size, stride or offset overflows");
    if (numel > 0 && extent > s.nbytes()) {
      corrupt(cat("tensor reaches byte ", extent, " of storage '", printable(s.key), "', which holds ", s.nbytes()));
    }
    tensors_.push_back(std::move(t));
    Value x;
    x.kind = Kind::tensor;
    x.i = static_cast<int64_t>(tensors_.size() - 1);
    return x;
  }

  Value call(Global g, const std::vector<Value>& a) {
    switch (g) {
      case Global::ordered_dict:
        if (!a.empty()) corrupt("OrderedDict called with arguments");
        return make_dict();
      case Global::rebuild_tensor_v2: return rebuild_tensor(a, false);
      case Global::rebuild_tensor_v3: return rebuild_tensor(a, true);
      case Global::rebuild_parameter:              // (data, requires_grad, hooks)
      case Global::rebuild_parameter_with_state:   // (data, requires_grad, hooks, state)
        if (a.size() != (g == Global::rebuild_parameter ? 3u : 4u) || a[0].kind != Kind::tensor) {
          corrupt(cat(global_name(g), " called with unexpected arguments"));
        }
        return a[0];
      case Global::rebuild_from_type_v2: {  // (func, type, args, state): func(*args); the type and state are ignored
        if (a.size() != 4 || a[0].kind != Kind::global || a[1].kind != Kind::global ||
            global(a[1]) != Global::tensor_type || a[2].kind != Kind::tuple) {
          corrupt("_rebuild_from_type_v2 called with unexpected arguments");
        }
        const Global inner = global(a[0]);
        if (inner == Global::rebuild_from_type_v2 || inner == Global::ordered_dict) {
          corrupt("_rebuild_from_type_v2 wraps an unexpected function");
        }
        Value r = call(inner, std::vector<Value>(seq(a[2])));
        if (r.kind != Kind::tensor) corrupt("_rebuild_from_type_v2 did not rebuild a tensor");
        return r;
      }
      case Global::tensor_type:
      case Global::storage_type:
      case Global::dtype_object:
        break;
    }
    corrupt(cat("calls ", global_name(g), ", which a state_dict pickle never does"));
  }

  Value reduce(const Value& callable, const Value& args) {
    if (callable.kind != Kind::global) corrupt(cat("REDUCE calls ", kind_name(callable.kind)));
    if (args.kind != Kind::tuple) corrupt("REDUCE arguments are not a tuple");
    return call(global(callable), std::vector<Value>(seq(args)));
  }

  // BUILD sets an object's state. Tensors (Python attributes) and OrderedDicts (the `_metadata`
  // that nn.Module.state_dict attaches) are the only targets in a state_dict; the state is ignored.
  void build() {
    Value state = pop();
    (void)state;
    const Value& target = top();
    if (target.kind != Kind::tensor && target.kind != Kind::dict) corrupt(cat("BUILD on ", kind_name(target.kind)));
  }

  // ---- from the root value to named tensors ----

  // Does the value hold a tensor anywhere below (bounded walk)?
  bool holds_tensor(const Value& v, int depth, uint64_t& visits) {
    if (++visits > kMaxPickleVisits) fail("data.pkl: the dict structure is too large or too deeply shared to flatten");
    if (v.kind == Kind::tensor) return true;
    if (v.kind != Kind::dict || depth >= kMaxPickleNesting) return false;
    for (const auto& [k, child] : dict(v).items) {
      if (holds_tensor(child, depth + 1, visits)) return true;
    }
    return false;
  }

  std::string key_text(const Value& k) { return k.kind == Kind::string ? str(k) : std::to_string(k.i); }

  void collect(const Value& d, const std::string& prefix, int depth, uint64_t& visits, StateDictPickle& out,
               std::vector<std::pair<std::string, size_t>>& named) {
    if (depth > kMaxPickleNesting) fail(cat("data.pkl: dicts nest deeper than ", kMaxPickleNesting, " levels"));
    for (const auto& [k, v] : dict(d).items) {
      if (++visits > kMaxPickleVisits) fail("data.pkl: the dict structure is too large or too deeply shared to flatten");
      std::string name = prefix;
      name += key_text(k);
      name_bytes_ += name.size();
      if (name_bytes_ > kMaxPickleNameBytes) fail("data.pkl: the tensor names are too many or too long to flatten");
      if (v.kind == Kind::tensor) {
        named.emplace_back(name, static_cast<size_t>(v.i));
      } else if (v.kind == Kind::dict) {
        collect(v, name + ".", depth + 1, visits, out, named);
      } else if (out.skipped.size() < 1000) {
        out.skipped.push_back(name);
      }
    }
  }

  StateDictPickle flatten(Value root) {
    if (root.kind != Kind::dict) {
      fail(cat("the pickle holds ", kind_name(root.kind),
               ", not a dict of tensors; januskit reads state_dict checkpoints (torch.save(model.state_dict(), f))"));
    }
    StateDictPickle out;
    uint64_t visits = 0;
    for (int depth = 0; depth < kMaxPickleNesting; ++depth) {
      const Dict& d = dict(root);
      const Value* only = nullptr;
      size_t holders = 0;
      bool direct = false;
      for (const auto& [k, v] : d.items) {
        if (v.kind == Kind::tensor) direct = true;
        if (v.kind == Kind::dict && holds_tensor(v, 0, visits)) {
          ++holders;
          only = &v;
        }
      }
      if (direct || holders != 1) break;
      for (const auto& [k, v] : d.items) {
        if (&v != only) continue;
        if (!out.unwrapped.empty()) out.unwrapped += '.';
        out.unwrapped += key_text(k);
      }
      root = *only;
    }
    std::vector<std::pair<std::string, size_t>> named;
    collect(root, "", 0, visits, out, named);
    std::unordered_map<std::string, size_t> seen;
    for (auto& [name, index] : named) {
      if (!seen.emplace(name, 0).second) fail(cat("data.pkl: two tensors are both named '", printable(name), "'"));
      PickledTensor t = tensors_[index];  // copies: one pickled tensor may appear under several names
      t.name = std::move(name);
      out.tensors.push_back(std::move(t));
    }
    out.storages = std::move(storages_);
    return out;
  }

  std::span<const uint8_t> in_;
  std::string path_;
  size_t pos_ = 0;
  size_t op_pos_ = 0;
  uint8_t op_ = 0;
  std::vector<Value> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, Value> memo_;
  std::vector<std::string> strings_;
  std::vector<std::vector<Value>> seqs_;
  std::vector<Dict> dicts_;
  std::vector<PickledStorage> storages_;
  std::unordered_map<std::string, size_t> storage_index_;
  std::vector<PickledTensor> tensors_;
  uint64_t name_bytes_ = 0;
};

}  // namespace

uint64_t PickledTensor::numel() const {
  uint64_t n = 1;
  for (int64_t s : sizes) n *= static_cast<uint64_t>(s);
  return n;
}

uint64_t PickledTensor::extent_bytes() const {
  if (numel() == 0) return 0;
  uint64_t last = static_cast<uint64_t>(offset);
  for (size_t d = 0; d < sizes.size(); ++d) last += static_cast<uint64_t>(sizes[d] - 1) * static_cast<uint64_t>(strides[d]);
  return (last + 1) * static_cast<uint64_t>(dtype_size(dtype));
}

StateDictPickle read_state_dict_pickle(std::span<const uint8_t> bytes, std::string_view path) {
  return Unpickler(bytes, path).run();
}

}  // namespace januskit::io
