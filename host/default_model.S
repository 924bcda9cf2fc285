/* The default model, carried in the library as it is on disk (no C array): the
 * assembler's .incbin reads the file named by MRXCL_DEFAULT_MODEL_PATH at build time. */
    .section .rodata
    .balign 64
    .globl mrxcl_default_model_data
    .hidden mrxcl_default_model_data
    .type mrxcl_default_model_data, @object
mrxcl_default_model_data:
    .incbin MRXCL_DEFAULT_MODEL_PATH
mrxcl_default_model_end:
    .balign 8
    .globl mrxcl_default_model_size
    .hidden mrxcl_default_model_size
    .type mrxcl_default_model_size, @object
mrxcl_default_model_size:
    .quad mrxcl_default_model_end - mrxcl_default_model_data
    .section .note.GNU-stack, "", @progbits
