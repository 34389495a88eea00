-- A glob of the whole disk.
traces('/*/*/*/*')
