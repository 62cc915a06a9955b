package dev.flyer.fs.rpc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SharedBuffersTest {
    private static SharedBuffers pool(int slots) throws Exception {
        return SharedBuffers.create(SharedBuffers.dir(), slots, 64 << 10);
    }

    @Test
    void slotsAreHandedOutOnceAndComeBack() throws Exception {
        SharedBuffers b = pool(3);
        List<SharedBuffers.Slot> held = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            held.add(b.acquire(1000));
        }
        assertThat(held).doesNotContainNull().doesNotHaveDuplicates();
        assertThat(b.acquire(1)).as("all slots busy").isNull();
        assertThat(b.acquire((64 << 10) + 1)).as("larger than a slot").isNull();
        held.get(1).release();
        assertThat(b.acquire(10)).isSameAs(held.get(1));
    }

    @Test
    void aRetiredSlotStaysOutOfUse() throws Exception {
        SharedBuffers b = pool(2);
        SharedBuffers.Slot first = b.acquire(10);
        SharedBuffers.Slot second = b.acquire(10);
        first.retire();
        assertThat(b.acquire(10)).as("only the retired slot is free").isNull();
        second.release();
        assertThat(b.acquire(10)).isSameAs(second);
    }

    @Test
    void aPeerSeesTheOwnersBytesThroughTheRef() throws Exception {
        SharedBuffers b = pool(2);
        SharedBuffers.Slot s = b.acquire(8);
        s.segment().set(ValueLayout.JAVA_LONG_UNALIGNED, 0, 0x1122334455667788L);
        MemorySegment peer = SharedBuffers.peer(s.ref(), 8);
        assertThat(peer.get(ValueLayout.JAVA_LONG_UNALIGNED, 0)).isEqualTo(0x1122334455667788L);
        peer.set(ValueLayout.JAVA_BYTE, 0, (byte) 1); // a peer's read reply lands in the owner's slot
        assertThat(s.segment().get(ValueLayout.JAVA_BYTE, 0)).isEqualTo((byte) 1);
    }

    @Test
    void badReferencesGetSpecificErrors() throws Exception {
        SharedBuffers b = pool(1);
        SharedBuffers.Ref good = b.acquire(8).ref();
        assertThatThrownBy(() -> SharedBuffers.peer(new SharedBuffers.Ref("../etc/passwd", 0, 4096), 8))
                .isInstanceOfSatisfying(RpcException.class, e -> assertThat(e.code()).isEqualTo("BAD_SHM_REF"));
        assertThatThrownBy(() -> SharedBuffers.peer(new SharedBuffers.Ref(good.region(), good.token() + 1, good.offset()), 8))
                .isInstanceOfSatisfying(RpcException.class, e -> assertThat(e.code()).isEqualTo("SHM_UNAVAILABLE"));
        assertThatThrownBy(() -> SharedBuffers.peer(good, 1 << 30))
                .isInstanceOfSatisfying(RpcException.class, e -> assertThat(e.code()).isEqualTo("BAD_SHM_REF"));
        assertThatThrownBy(() -> SharedBuffers.peer(new SharedBuffers.Ref("flyer-shm-1-00000000000000ff", 0, 4096), 8))
                .as("a region this host does not have")
                .isInstanceOfSatisfying(RpcException.class, e -> assertThat(e.code()).isEqualTo("SHM_UNAVAILABLE"));
    }

    @Test
    void regionsOfDeadOwnersAreSweptAtStart() throws Exception {
        Path stale = SharedBuffers.dir().resolve(SharedBuffers.PREFIX + Integer.MAX_VALUE + "-00000000000000aa");
        Files.write(stale, new byte[4096]);
        pool(1);
        assertThat(stale).doesNotExist();
    }
}
