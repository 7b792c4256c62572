/**
 * Tool (function) calls in generated text: the formats models write them in ({@link org.redhare.text.tools.ToolCallFormat}),
 * chosen from the model's chat template, and an incremental parser ({@link org.redhare.text.tools.ToolCallParser}) that
 * splits a streamed reply into plain content and complete calls.
 */
package org.redhare.text.tools;
