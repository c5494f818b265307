/* train_preview.h - `sgm train --preview N`: a picture of the model being
 * trained, written next to each checkpoint (train_preview.c). */
#ifndef SGM_CLI_TRAIN_PREVIEW_H
#define SGM_CLI_TRAIN_PREVIEW_H

/* The preview path of checkpoint `out`: OUT without ".safetensors", plus
 * ".preview.png". 0, or -1 when it does not fit in `size` bytes. */
int train_preview_path(const char *out, char *path, size_t size);
/* n samples of checkpoint ckpt along its default path, as an image grid
 * (image models) or a scatter plot of the first two columns (other data),
 * written atomically to png. 0, or 1 after a one-line message on stderr. */
int train_preview_write(const char *ckpt, const char *png, int n, int quiet);

#endif
