package org.redhare.text;
