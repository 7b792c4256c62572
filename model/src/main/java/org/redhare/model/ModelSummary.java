package org.redhare.model;

import java.util.Map;
import org.redhare.core.DType;

/**
 * What {@code redhare info} shows: parameter counts (total, and active per token for MoE models),
 * bytes of weights by dtype, and the weight bytes one decode step reads (every matrix once, plus the
 * LM head; the embedding lookup reads one row), which bounds decode speed by memory bandwidth; and the LM head's
 * dtype and bytes, part of those reads (the embedding when tied); and the bytes of its int8 screen, which greedy and top-k tokens
 * read instead (0 without one, {@code org.redhare.core.matrix.ScreenedHead}); or the bytes of a screen that only batches of
 * such tokens read (an FP8 head's, whose copy is no smaller: {@code batchScreenBytes}; 0 without one).
 */
public record ModelSummary(long totalParameters, long activeParameters, long weightBytes, Map<String, Long> parametersByDtype,
                           long decodeBytesPerToken, DType lmHeadDtype, long lmHeadBytes, long headScreenBytes, long batchScreenBytes) {

    /** What a greedy decoded token reads: the screen instead of the head where there is one. */
    public long greedyDecodeBytesPerToken() {
        return headScreenBytes == 0 ? decodeBytesPerToken : decodeBytesPerToken - lmHeadBytes + headScreenBytes;
    }
}
