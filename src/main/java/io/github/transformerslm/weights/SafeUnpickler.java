package io.github.transformerslm.weights;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads the {@code data.pkl} of a {@code torch.save} archive without running anything: the pickle
 * machine is interpreted here, and the only callables it may name are the few a state dict needs
 * (the rule of {@code torch.load(weights_only=True)}). The first other global ends the read with an
 * {@link UnsafePickleException} naming it, before anything else in the file is looked at.
 *
 * <p>The result is the unpickled object: maps, lists, tuples (as {@link Tuple}), strings, numbers,
 * and {@link TensorRef}s that say where each tensor's elements lie in which storage.
 */
final class SafeUnpickler {
    /** A storage as the pickle names it: the zip record that holds it and its element type. */
    record StorageRef(String key, String type, long elements) {}

    /** A tensor as {@code torch._utils._rebuild_tensor_v2} would build it: a strided view of a storage. */
    record TensorRef(StorageRef storage, long offset, long[] shape, long[] stride) {}

    /** A Python tuple. */
    record Tuple(List<Object> items) {}

    private record Global(String module, String name) {
        String qualified() {
            return module + "." + name;
        }
    }

    private static final Object MARK = new Object();

    static final Set<String> STORAGE_TYPES = Set.of("FloatStorage", "HalfStorage", "BFloat16Storage",
            "DoubleStorage", "LongStorage", "IntStorage", "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage");

    private static final Set<String> CALLABLES = Set.of("collections.OrderedDict",
            "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor", "torch._utils._rebuild_parameter",
            "torch._utils._rebuild_parameter_with_state");

    /** Nesting a state dict never needs; a deeper pickle is refused rather than followed. */
    private static final int MAX_STACK = 1_000_000;

    private final String file;
    private final ByteBuffer in;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();

    private SafeUnpickler(String file, byte[] pickle) {
        this.file = file;
        this.in = ByteBuffer.wrap(pickle).order(ByteOrder.LITTLE_ENDIAN);
    }

    static Object load(String file, byte[] pickle) {
        try {
            return new SafeUnpickler(file, pickle).run();
        } catch (java.nio.BufferUnderflowException | IndexOutOfBoundsException e) {
            throw new CheckpointException(file + ": the pickle is truncated or corrupt");
        }
    }

    private Object run() {
        while (true) {
            int op = in.get() & 0xFF;
            switch (op) {
                case 0x80 -> in.get(); // PROTO
                case 0x95 -> in.getLong(); // FRAME: framing only
                case '.' -> { // STOP
                    return pop();
                }
                case '(' -> marks.add(stack.size()); // MARK
                case '}' -> push(new LinkedHashMap<>()); // EMPTY_DICT
                case ']' -> push(new ArrayList<>()); // EMPTY_LIST
                case ')' -> push(new Tuple(List.of())); // EMPTY_TUPLE
                case 'N' -> push(null);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'J' -> push((long) in.getInt()); // BININT
                case 'K' -> push((long) (in.get() & 0xFF)); // BININT1
                case 'M' -> push((long) (in.getShort() & 0xFFFF)); // BININT2
                case 0x8a -> push(longN(in.get() & 0xFF)); // LONG1
                case 0x8b -> push(longN(length(in.getInt()))); // LONG4
                case 'G' -> push(Double.longBitsToDouble(Long.reverseBytes(in.getLong()))); // BINFLOAT, big-endian
                case 'X' -> push(text(length(in.getInt()))); // BINUNICODE
                case 0x8c -> push(text(in.get() & 0xFF)); // SHORT_BINUNICODE
                case 0x8d -> push(text(length(in.getLong()))); // BINUNICODE8
                case 'T' -> push(text(length(in.getInt()))); // BINSTRING
                case 'U' -> push(text(in.get() & 0xFF)); // SHORT_BINSTRING
                case 'q' -> memo.put((long) (in.get() & 0xFF), peek()); // BINPUT
                case 'r' -> memo.put((long) in.getInt() & 0xFFFFFFFFL, peek()); // LONG_BINPUT
                case 0x94 -> memo.put((long) memo.size(), peek()); // MEMOIZE
                case 'h' -> push(memoGet(in.get() & 0xFF)); // BINGET
                case 'j' -> push(memoGet(in.getInt() & 0xFFFFFFFFL)); // LONG_BINGET
                case 'c' -> push(global(line(), line())); // GLOBAL
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop();
                    Object module = pop();
                    push(global(String.valueOf(module), String.valueOf(name)));
                }
                case 't' -> push(new Tuple(popMark())); // TUPLE
                case 0x85 -> push(new Tuple(List.of(pop()))); // TUPLE1
                case 0x86 -> { // TUPLE2
                    Object b = pop();
                    Object a = pop();
                    push(new Tuple(List.of(nullable(a), nullable(b))));
                }
                case 0x87 -> { // TUPLE3
                    Object c = pop();
                    Object b = pop();
                    Object a = pop();
                    push(new Tuple(List.of(nullable(a), nullable(b), nullable(c))));
                }
                case 'l' -> push(new ArrayList<>(popMark())); // LIST
                case 'd' -> { // DICT
                    Map<Object, Object> dict = new LinkedHashMap<>();
                    setItems(dict, popMark());
                    push(dict);
                }
                case 'a' -> { // APPEND
                    Object value = pop();
                    asList(peek()).add(value);
                }
                case 'e' -> { // APPENDS
                    List<Object> values = popMark();
                    asList(peek()).addAll(values);
                }
                case 's' -> { // SETITEM
                    Object value = pop();
                    Object key = pop();
                    asMap(peek()).put(key, value);
                }
                case 'u' -> { // SETITEMS
                    List<Object> items = popMark();
                    setItems(asMap(peek()), items);
                }
                case 'Q' -> push(persistent(pop())); // BINPERSID
                case 'R' -> { // REDUCE
                    Object args = pop();
                    Object callable = pop();
                    push(call(callable, args));
                }
                case 'b' -> pop(); // BUILD: only an OrderedDict's _metadata reaches here, and it is not needed
                default -> throw new CheckpointException(String.format(
                        "%s: refusing to load: the pickle uses opcode 0x%02x, which a state dict never needs", file, op));
            }
        }
    }

    private Object global(String module, String name) {
        String qualified = module + "." + name;
        boolean storage = module.equals("torch") && STORAGE_TYPES.contains(name);
        if (!storage && !CALLABLES.contains(qualified)) {
            throw new UnsafePickleException(file + ": refusing to load: the pickle calls " + qualified
                    + " (only tensors are allowed)");
        }
        return new Global(module, name);
    }

    private Object call(Object callable, Object args) {
        if (!(callable instanceof Global global) || !(args instanceof Tuple tuple)) {
            throw new CheckpointException(file + ": refusing to load: the pickle calls something that is not an allowed global");
        }
        List<Object> a = tuple.items();
        return switch (global.qualified()) {
            case "collections.OrderedDict" -> new LinkedHashMap<>();
            case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor" -> {
                if (a.size() < 4 || !(a.get(0) instanceof StorageRef storage)) {
                    throw corrupt("_rebuild_tensor_v2 without a storage");
                }
                yield new TensorRef(storage, number(a.get(1)), longs(a.get(2)), longs(a.get(3)));
            }
            case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state" -> {
                if (a.isEmpty() || !(a.get(0) instanceof TensorRef tensor)) {
                    throw corrupt("_rebuild_parameter without a tensor");
                }
                yield tensor;
            }
            default -> throw new UnsafePickleException(file + ": refusing to load: the pickle calls "
                    + global.qualified() + " (only tensors are allowed)");
        };
    }

    private StorageRef persistent(Object pid) {
        // ('storage', torch.<Type>Storage, key, location, element count)
        if (!(pid instanceof Tuple tuple) || tuple.items().size() < 5 || !"storage".equals(tuple.items().get(0))
                || !(tuple.items().get(1) instanceof Global type) || !(tuple.items().get(2) instanceof String key)) {
            throw corrupt("a persistent id that is not a storage");
        }
        if (!STORAGE_TYPES.contains(type.name())) {
            throw new UnsafePickleException(file + ": refusing to load: the pickle calls " + type.qualified()
                    + " (only tensors are allowed)");
        }
        return new StorageRef(key, type.name(), number(tuple.items().get(4)));
    }

    private long number(Object value) {
        if (value instanceof Long l) {
            return l;
        }
        throw corrupt("a number was expected, found " + (value == null ? "None" : value.getClass().getSimpleName()));
    }

    private long[] longs(Object value) {
        if (!(value instanceof Tuple tuple)) {
            throw corrupt("a tuple of sizes was expected");
        }
        long[] result = new long[tuple.items().size()];
        for (int i = 0; i < result.length; i++) {
            result[i] = number(tuple.items().get(i));
        }
        return result;
    }

    private CheckpointException corrupt(String what) {
        return new CheckpointException(file + ": not a PyTorch state dict: " + what);
    }

    private void setItems(Map<Object, Object> map, List<Object> items) {
        if (items.size() % 2 != 0) {
            throw corrupt("an odd number of dictionary items");
        }
        for (int i = 0; i < items.size(); i += 2) {
            map.put(items.get(i), items.get(i + 1));
        }
    }

    @SuppressWarnings("unchecked")
    private List<Object> asList(Object value) {
        if (value instanceof List<?> list) {
            return (List<Object>) list;
        }
        throw corrupt("APPEND to something that is not a list");
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> asMap(Object value) {
        if (value instanceof Map<?, ?> map) {
            return (Map<Object, Object>) map;
        }
        throw corrupt("SETITEM on something that is not a dict");
    }

    private static Object nullable(Object value) {
        return value == null ? NONE : value;
    }

    /** Stands for None inside immutable tuples. */
    static final Object NONE = new Object() {
        @Override
        public String toString() {
            return "None";
        }
    };

    private Object longN(int bytes) {
        byte[] littleEndian = new byte[bytes];
        in.get(littleEndian);
        byte[] bigEndian = new byte[bytes];
        for (int i = 0; i < bytes; i++) {
            bigEndian[i] = littleEndian[bytes - 1 - i];
        }
        BigInteger value = bytes == 0 ? BigInteger.ZERO : new BigInteger(bigEndian);
        return value.bitLength() < 64 ? (Object) value.longValue() : value;
    }

    private int length(long n) {
        if (n < 0 || n > in.remaining()) {
            throw corrupt("a length of " + n + " past the end of the pickle");
        }
        return (int) n;
    }

    private String text(int length) {
        byte[] bytes = new byte[length];
        in.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private String line() {
        int start = in.position();
        while (in.get() != '\n') {
            // scan to the newline
        }
        byte[] bytes = Arrays.copyOfRange(in.array(), start, in.position() - 1);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private Object memoGet(long index) {
        if (!memo.containsKey(index)) {
            throw corrupt("a reference to memo slot " + index + ", which was never stored");
        }
        return memo.get(index);
    }

    private void push(Object value) {
        if (stack.size() >= MAX_STACK) {
            throw corrupt("more than " + MAX_STACK + " values on the stack");
        }
        stack.add(value);
    }

    private Object peek() {
        if (stack.isEmpty()) {
            throw corrupt("an operation on an empty stack");
        }
        return stack.get(stack.size() - 1);
    }

    private Object pop() {
        if (stack.isEmpty() || (!marks.isEmpty() && marks.get(marks.size() - 1) == stack.size())) {
            throw corrupt("an operation on an empty stack");
        }
        return stack.remove(stack.size() - 1);
    }

    private List<Object> popMark() {
        if (marks.isEmpty()) {
            throw corrupt("a MARK was expected");
        }
        int from = marks.remove(marks.size() - 1);
        List<Object> tail = stack.subList(from, stack.size());
        List<Object> items = new ArrayList<>(tail.size());
        for (Object o : tail) {
            items.add(nullable(o));
        }
        tail.clear();
        return items;
    }
}
