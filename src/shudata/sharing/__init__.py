"""C6 共享交换: the request workflow of 国发〔2016〕51号, grants, masked delivery, federation."""
