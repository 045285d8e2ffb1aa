// attnkit: instruction-set levels and the per-op kernel tables.
//
// Plain C++ (no Node-API). Every kernel family registers one function per ISA level it has
// (scalar always; avx2/avx512 on x86-64; neon on arm64). A call picks the best registered
// variant at or below the active level, chosen once at load (see native/src/cpu.cc).
#pragma once

#include <cstddef>
#include <type_traits>

namespace attnkit {

/// ISA levels, ordered: a kernel at level L may run whenever the active level is >= L.
/// NEON and the x86 levels never coexist on one machine, so the order between them is moot.
enum class Isa : int { scalar = 0, neon = 1, avx2 = 2, avx512 = 3 };
constexpr int kIsaCount = 4;

/// "scalar", "neon", "avx2", "avx512".
const char* isa_name(Isa isa);

/// The level kernels run at: the best the CPU and OS support, lowered by ATTNKIT_ISA.
Isa active_isa();

/// The best level this CPU + OS supports (ignores ATTNKIT_ISA).
Isa detected_isa();

/// The CPU and OS offer AVX512_BF16 (vdpbf16ps) and the active level is avx512 (so
/// ATTNKIT_ISA=avx2 / scalar turns its use off too).
bool cpu_has_avx512_bf16();

/// Non-empty when ATTNKIT_ISA asked for something invalid or above what the CPU has; the addon
/// then reports the backend unavailable with this text (kernels still run at detected_isa()).
const char* isa_error();

/// Registry entry for reporting: every KernelTable links itself into one list at static-init time.
struct KernelTableBase {
  const char* name;
  KernelTableBase* next;
  virtual ~KernelTableBase() = default;
  /// The variant a call would run now, or nullptr if none is registered.
  virtual const char* selected() const = 0;
  /// Bitmask of registered ISA levels (bit = int(Isa)).
  virtual unsigned available_mask() const = 0;
  static KernelTableBase*& head();
  explicit KernelTableBase(const char* n) : name(n), next(head()) { head() = this; }
};

/// One kernel family's variants by ISA. `Fn` is a plain function-pointer type.
template <class Fn>
struct KernelTable final : KernelTableBase {
  using FnT = Fn;
  Fn fns[kIsaCount] = {};
  explicit KernelTable(const char* n) : KernelTableBase(n) {}
  /// The best variant at or below the active level; `used` (optional) gets its level.
  Fn get(Isa* used = nullptr) const {
    for (int i = static_cast<int>(active_isa()); i >= 0; --i) {
      if (fns[i]) {
        if (used) *used = static_cast<Isa>(i);
        return fns[i];
      }
    }
    return nullptr;
  }
  const char* selected() const override {
    Isa u;
    return get(&u) ? isa_name(u) : nullptr;
  }
  unsigned available_mask() const override {
    unsigned m = 0;
    for (int i = 0; i < kIsaCount; ++i)
      if (fns[i]) m |= 1u << i;
    return m;
  }
};

/// Registers `fn` as the `isa` variant of `table` during static initialisation.
template <class Fn>
struct KernelRegistrar {
  KernelRegistrar(KernelTable<Fn>& table, Isa isa, Fn fn) { table.fns[static_cast<int>(isa)] = fn; }
};

}  // namespace attnkit

/// Declare a kernel table (in a header): `ATTNKIT_DECLARE_TABLE(SdpaFn, sdpa_table)`.
/// Defined inline with a function-local static so static-init order across files is safe.
#define ATTNKIT_DECLARE_TABLE(FnType, name)                  \
  inline ::attnkit::KernelTable<FnType>& name() {            \
    static ::attnkit::KernelTable<FnType> t(#name);          \
    return t;                                                \
  }

/// Register a variant (in a per-ISA .cc file, outside any ISA target region):
/// `ATTNKIT_REGISTER(sdpa_table, avx512, &sdpa_forward_avx512)`.
#define ATTNKIT_REGISTER(table, isa, fn)                                                   \
  static ::attnkit::KernelRegistrar<std::remove_reference_t<decltype(table())>::FnT>       \
      attnkit_registrar_##table##_##isa(table(), ::attnkit::Isa::isa, fn)
