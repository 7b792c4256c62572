package org.redhare.model;

import java.util.Map;
import org.redhare.core.DType;

/**
 * What {@code redhare info} shows: parameter counts (total, and active per token for MoE models),
 * bytes of weights by dtype, and the weight bytes one decode step reads (every matrix once, plus the
 * LM head; the embedding lookup reads one row), which bounds decode speed by memory bandwidth; and the LM head's
 * dtype and bytes, part of those reads (the embedding when tied).
 */
public record ModelSummary(long totalParameters, long activeParameters, long weightBytes, Map<String, Long> parametersByDtype,
                           long decodeBytesPerToken, DType lmHeadDtype, long lmHeadBytes) {}
