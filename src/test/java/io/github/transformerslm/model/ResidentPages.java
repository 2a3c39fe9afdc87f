package io.github.transformerslm.model;

import com.sun.jna.Function;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;
import java.util.List;

/**
 * How much of some direct buffers' memory is resident, page by page ({@code mincore(2)}; Linux): unlike the
 * process's resident size, it counts nothing but those buffers, whatever the JIT or the allocator do beside.
 */
final class ResidentPages {
    static final long PAGE = 4096;

    private ResidentPages() {}

    static long residentBytes(List<ByteBuffer> buffers) {
        Function mincore = Function.getFunction("c", "mincore");
        long total = 0;
        for (ByteBuffer buffer : buffers) {
            long address = Pointer.nativeValue(Native.getDirectBufferPointer(buffer));
            long start = address & -PAGE;
            long end = (address + buffer.capacity() + PAGE - 1) & -PAGE;
            byte[] pages = new byte[(int) ((end - start) / PAGE)];
            int result = mincore.invokeInt(new Object[] {new Pointer(start), new NativeLong(end - start), pages});
            if (result != 0) {
                throw new IllegalStateException("mincore failed: errno " + Native.getLastError());
            }
            for (byte page : pages) {
                total += (page & 1) * PAGE;
            }
        }
        return total;
    }
}
